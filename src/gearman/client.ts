// A Gearman client: submits jobs (foreground or background) and follows them to their outcome.
// Used by `atom-worker submit`, the tests and the benchmarks. Servers are chosen by hashing the
// unique key, as AtoM's client does, with failover to the next server when one is down.
import { createHash, randomUUID } from 'node:crypto';
import type { Packet } from './codec.js';
import { PacketConnection } from './connection.js';
import { PacketType, packetTypeName } from './packets.js';
import { formatAddress, type ServerAddress } from './address.js';

export type Priority = 'high' | 'normal' | 'low';

export interface SubmitOptions {
  readonly unique?: string;
  readonly priority?: Priority;
  readonly background?: boolean;
  /** Called for WORK_STATUS, WORK_DATA and WORK_WARNING of a foreground job. */
  readonly onStatus?: (numerator: number, denominator: number) => void;
  readonly onData?: (data: Buffer) => void;
  readonly onWarning?: (data: Buffer) => void;
  /** Told the handle as soon as the server has created the job, before any WORK_* callback. */
  readonly onCreated?: (handle: string, server: string) => void;
}

export type JobOutcome =
  | { readonly status: 'complete'; readonly handle: string; readonly server: string; readonly result: Buffer }
  | { readonly status: 'fail'; readonly handle: string; readonly server: string }
  | { readonly status: 'exception'; readonly handle: string; readonly server: string; readonly message: string };

export interface BackgroundSubmission {
  readonly handle: string;
  readonly server: string;
}

/** GET_STATUS's answer: whether the server still knows the job, and its last WORK_STATUS. */
export interface JobStatus {
  readonly handle: string;
  readonly server: string;
  /** False once the job has ended (or if it never existed): gearmand forgets finished jobs. */
  readonly known: boolean;
  readonly running: boolean;
  readonly numerator: number;
  readonly denominator: number;
}

export class ClientError extends Error {
  override readonly name: string = 'ClientError';
}

/** The server refused the submission (an ERROR packet): another server would refuse it too. */
export class JobServerRefusedError extends ClientError {
  override readonly name = 'JobServerRefusedError';
}

interface PendingSubmission {
  /** For foreground jobs: registered the moment JOB_CREATED is read, because WORK_* packets for the
   * handle can arrive in the same chunk, before any promise callback would run. */
  readonly follower: RunningJob | undefined;
  resolveCreated(handle: string): void;
  reject(error: Error): void;
}

interface RunningJob {
  readonly options: SubmitOptions;
  resolve(outcome: JobOutcome): void;
  reject(error: Error): void;
}

const submitTypes = {
  normal: { fg: PacketType.SUBMIT_JOB, bg: PacketType.SUBMIT_JOB_BG },
  high: { fg: PacketType.SUBMIT_JOB_HIGH, bg: PacketType.SUBMIT_JOB_HIGH_BG },
  low: { fg: PacketType.SUBMIT_JOB_LOW, bg: PacketType.SUBMIT_JOB_LOW_BG },
} as const;

/** One client connection to one server, with its FIFO of submissions awaiting JOB_CREATED. */
class ClientLink {
  private connection: PacketConnection | undefined;
  private connecting: Promise<PacketConnection> | undefined;
  private readonly awaitingCreated: PendingSubmission[] = [];
  private readonly running = new Map<string, RunningJob>();
  /** GET_STATUS requests by handle; gearmand answers each with a STATUS_RES naming the handle. */
  private readonly statusRequests = new Map<string, Array<{ resolve(status: JobStatus): void; reject(error: Error): void }>>();

  constructor(
    readonly address: ServerAddress,
    private readonly options: { connectTimeoutMs: number; maxPacketBytes: number },
  ) {}

  get name(): string {
    return formatAddress(this.address);
  }

  private open(): Promise<PacketConnection> {
    if (this.connection?.isOpen) return Promise.resolve(this.connection);
    this.connecting ??= PacketConnection.connect(
      this.address,
      {
        onPacket: (packet) => this.onPacket(packet),
        onClose: (error) => this.onClose(error),
      },
      this.options,
    ).then(
      (connection) => {
        this.connection = connection;
        this.connecting = undefined;
        // Ask gearmand to forward WORK_EXCEPTION instead of turning it into WORK_FAIL.
        connection.send(PacketType.OPTION_REQ, ['exceptions']);
        return connection;
      },
      (error: unknown) => {
        this.connecting = undefined;
        throw error;
      },
    );
    return this.connecting;
  }

  async submit(fn: string, unique: string, payload: string | Uint8Array, options: SubmitOptions, follower?: RunningJob): Promise<string> {
    const connection = await this.open();
    const priority = options.priority ?? 'normal';
    const type = options.background ? submitTypes[priority].bg : submitTypes[priority].fg;
    return new Promise<string>((resolveCreated, reject) => {
      this.awaitingCreated.push({ follower, resolveCreated, reject });
      connection.send(type, [fn, unique, payload]);
    });
  }

  async getStatus(handle: string): Promise<JobStatus> {
    const connection = await this.open();
    return new Promise<JobStatus>((resolve, reject) => {
      const waiting = this.statusRequests.get(handle) ?? [];
      waiting.push({ resolve, reject });
      this.statusRequests.set(handle, waiting);
      connection.send(PacketType.GET_STATUS, [handle]);
    });
  }

  private onStatusResult(args: readonly Buffer[]): void {
    const handle = args[0]!.toString('latin1');
    const waiting = this.statusRequests.get(handle);
    const request = waiting?.shift();
    if (waiting?.length === 0) this.statusRequests.delete(handle);
    request?.resolve({
      handle,
      server: this.name,
      known: args[1]!.toString() === '1',
      running: args[2]!.toString() === '1',
      numerator: Number(args[3]!.toString()),
      denominator: Number(args[4]!.toString()),
    });
  }

  private onPacket(packet: Packet): void {
    const args = packet.args;
    switch (packet.type) {
      case PacketType.STATUS_RES:
        this.onStatusResult(args);
        return;
      case PacketType.JOB_CREATED: {
        const pending = this.awaitingCreated.shift();
        const handle = args[0]!.toString('latin1');
        if (pending?.follower) {
          this.running.set(handle, pending.follower);
          pending.follower.options.onCreated?.(handle, this.name);
        }
        pending?.resolveCreated(handle);
        return;
      }
      case PacketType.OPTION_RES:
        return;
      case PacketType.ERROR: {
        // An ERROR answers the oldest outstanding request (OPTION_REQ errors are harmless).
        const message = `${args[0]!.toString()}: ${args[1]!.toString()}`;
        const pending = this.awaitingCreated.shift();
        pending?.reject(new JobServerRefusedError(`job server ${this.name} answered ERROR ${message}`));
        return;
      }
      default:
        break;
    }
    const handle = args[0]?.toString('latin1') ?? '';
    const job = this.running.get(handle);
    if (!job) return;
    switch (packet.type) {
      case PacketType.WORK_STATUS:
        job.options.onStatus?.(Number(args[1]!.toString()), Number(args[2]!.toString()));
        return;
      case PacketType.WORK_DATA:
        job.options.onData?.(Buffer.from(args[1]!));
        return;
      case PacketType.WORK_WARNING:
        job.options.onWarning?.(Buffer.from(args[1]!));
        return;
      case PacketType.WORK_COMPLETE:
        this.running.delete(handle);
        job.resolve({ status: 'complete', handle, server: this.name, result: Buffer.from(args[1]!) });
        return;
      case PacketType.WORK_FAIL:
        this.running.delete(handle);
        job.resolve({ status: 'fail', handle, server: this.name });
        return;
      case PacketType.WORK_EXCEPTION:
        this.running.delete(handle);
        job.resolve({ status: 'exception', handle, server: this.name, message: args[1]!.toString() });
        return;
      default:
        this.connection?.destroy(new ClientError(`unexpected ${packetTypeName(packet.type)} from ${this.name}`));
    }
  }

  private onClose(error: Error | undefined): void {
    this.connection = undefined;
    const reason = new ClientError(`lost connection to job server ${this.name}${error ? `: ${error.message}` : ''}`);
    for (const pending of this.awaitingCreated.splice(0)) pending.reject(reason);
    for (const job of this.running.values()) job.reject(reason);
    this.running.clear();
    for (const waiting of this.statusRequests.values()) for (const request of waiting) request.reject(reason);
    this.statusRequests.clear();
  }

  close(): void {
    this.connection?.end();
    this.connection = undefined;
  }
}

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
