// A Gearman client: submits jobs (foreground or background) and follows them to their outcome.
// Used by `atom-worker submit`, the tests and the benchmarks. Servers are chosen by hashing the
// unique key, as AtoM's client does, with failover to the next server when one is down; the
// connection to each is a ClientLink (clientLink.ts).
import { createHash, randomUUID } from 'node:crypto';
import type { ServerAddress } from './address.js';
import { ClientLink, type RunningJob } from './clientLink.js';
import { type BackgroundSubmission, ClientError, type JobOutcome, JobServerRefusedError, type JobStatus, type SubmitOptions } from './clientTypes.js';

export interface ClientOptions {
  readonly connectTimeoutMs?: number;
  readonly maxPacketBytes?: number;
}

export class GearmanClient {
  private readonly links: ClientLink[];

  constructor(servers: readonly ServerAddress[], options: ClientOptions = {}) {
    if (servers.length === 0) throw new ClientError('no job servers configured');
    const linkOptions = {
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      maxPacketBytes: options.maxPacketBytes ?? 256 * 1024 * 1024,
    };
    this.links = servers.map((address) => new ClientLink(address, linkOptions));
  }

  /** Servers in the order to try for this unique key: the hashed one first, then the others. */
  private order(unique: string): ClientLink[] {
    const digest = createHash('md5').update(unique).digest();
    const start = digest.readUInt32BE(0) % this.links.length;
    return [...this.links.slice(start), ...this.links.slice(0, start)];
  }

  private async submitWithFailover(
    fn: string,
    payload: string | Uint8Array,
    options: SubmitOptions,
    follower?: RunningJob,
  ): Promise<{ link: ClientLink; handle: string; unique: string }> {
    const unique = options.unique ?? randomUUID();
    const errors: string[] = [];
    for (const link of this.order(unique)) {
      try {
        const handle = await link.submit(fn, unique, payload, options, follower);
        return { link, handle, unique };
      } catch (error) {
        if (error instanceof JobServerRefusedError) throw error;
        errors.push(`${link.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    throw new ClientError(`no job server accepted the job (${errors.join('; ')})`);
  }

  /** Submit a background job; resolves with its handle once the server has queued it. */
  async submitBackground(fn: string, payload: string | Uint8Array, options: SubmitOptions = {}): Promise<BackgroundSubmission> {
    const { link, handle } = await this.submitWithFailover(fn, payload, { ...options, background: true });
    return { handle, server: link.name };
  }

  /**
   * Submit a foreground job and wait for its outcome. `onCreated` is told the handle as soon as it exists.
   * Rejects if the connection drops before the outcome arrives (the job may still run).
   */
  submit(
    fn: string,
    payload: string | Uint8Array,
    options: SubmitOptions = {},
  ): Promise<JobOutcome> {
    return new Promise<JobOutcome>((resolve, reject) => {
      this.submitWithFailover(fn, payload, { ...options, background: false }, { options, resolve, reject }).catch(reject);
    });
  }

  /** GET_STATUS of a job on the server that took it (`server` as a BackgroundSubmission names it). */
  getStatus(handle: string, server: string): Promise<JobStatus> {
    const link = this.links.find((candidate) => candidate.name === server);
    if (!link) return Promise.reject(new ClientError(`${server} is not one of this client's job servers`));
    return link.getStatus(handle);
  }

  /** GET_STATUS on every server: the first that knows the handle, else the answers of all (none knows it). */
  async findJob(handle: string): Promise<{ found: JobStatus | undefined; errors: string[] }> {
    const answers = await Promise.allSettled(this.links.map((link) => link.getStatus(handle)));
    const errors: string[] = [];
    let found: JobStatus | undefined;
    answers.forEach((answer, index) => {
      if (answer.status === 'rejected') errors.push(`${this.links[index]!.name}: ${answer.reason instanceof Error ? answer.reason.message : String(answer.reason)}`);
      else if (answer.value.known && found === undefined) found = answer.value;
    });
    return { found, errors };
  }

  close(): void {
    for (const link of this.links) link.close();
  }
}
