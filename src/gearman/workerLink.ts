// The worker side of one connection to one job server: registration, grab/sleep/wake and job
// replies, on a connection that reconnect.ts keeps up (backoff, heartbeat). It speaks packets; its
// owner (a runtime slot) sees only events.
import { hostname } from 'node:os';
import type { OversizedPacket, Packet } from './codec.js';
import type { PacketConnection } from './connection.js';
import { PacketType, packetTypeName } from './packets.js';
import { formatAddress, type ServerAddress } from './address.js';
import { ReconnectingConnection, type ReconnectOptions } from './reconnect.js';
import { type AssignedJob, assignedJob, oversizedAssignment } from './assignment.js';

export type { AssignedJob } from './assignment.js';

/** A function to register, with the server-side timeout to send in CAN_DO_TIMEOUT (ms), if any. */
export interface Ability {
  readonly name: string;
  readonly serverTimeoutMs?: number;
}

export interface WorkerLinkEvents {
  /** Connected and registered; the link may have work: grab. */
  ready(link: WorkerLink): void;
  job(link: WorkerLink, job: AssignedJob): void;
  /** The server had no job. The owner decides whether this connection sleeps (see `sleep()`). */
  noJob(link: WorkerLink): void;
  /** The server woke us: there may be work. */
  wake(link: WorkerLink): void;
  /**
   * The connection is gone, or a connect attempt failed (`wasConnected` false). A reconnect is scheduled
   * in `retryInMs` unless the link was closed.
   */
  down(link: WorkerLink, error: Error | undefined, retryInMs: number | undefined, wasConnected: boolean): void;
  /** The server sent an ERROR packet. */
  serverError(link: WorkerLink, code: string, message: string): void;
}

export interface WorkerLinkOptions extends ReconnectOptions {
  readonly clientId: string;
  readonly abilities: readonly Ability[];
}

/** Of the current connection: sent on every (re)connect, confirmed by the server's ECHO_RES. */
type Registration = 'unregistered' | 'registering' | 'registered';

export class WorkerLink {
  readonly name: string;
  private readonly server: ReconnectingConnection;
  private registration: Registration = 'unregistered';
  /** A GRAB is on the wire and unanswered. */
  private grabbing = false;
  /** Handles of jobs assigned on this connection and not yet answered. */
  private readonly running = new Set<string>();

  constructor(
    private readonly options: WorkerLinkOptions,
    private readonly events: WorkerLinkEvents,
  ) {
    this.name = formatAddress(options.address);
    this.server = new ReconnectingConnection(options, {
      connected: (connection) => this.register(connection),
      packet: (connection, packet) => this.onPacket(connection, packet),
      oversized: (connection, packet) => this.onOversized(connection, packet),
      down: (error, retryInMs, wasConnected) => this.onDown(error, retryInMs, wasConnected),
    });
  }

  get address(): ServerAddress {
    return this.options.address;
  }

  private get connection(): PacketConnection | undefined {
    return this.server.connection;
  }

  get isRegistered(): boolean {
    return this.registration === 'registered';
  }

  get isGrabbing(): boolean {
    return this.grabbing;
  }

  /** Jobs from this connection still waiting for their final reply. */
  get runningJobs(): number {
    return this.running.size;
  }

  /** Start connecting (and keep reconnecting until close()). */
  start(): void {
    this.server.start();
  }

  private register(connection: PacketConnection): void {
    this.grabbing = false;
    this.running.clear();
    // Registration is re-sent on every (re)connect: gearmand forgets everything with the connection.
    const packets: Array<[number, string[]]> = [[PacketType.SET_CLIENT_ID, [this.options.clientId]]];
    for (const ability of this.options.abilities) {
      if (ability.serverTimeoutMs !== undefined) {
        packets.push([PacketType.CAN_DO_TIMEOUT, [ability.name, String(ability.serverTimeoutMs)]]);
      } else packets.push([PacketType.CAN_DO, [ability.name]]);
    }
    // The ECHO comes back only after gearmand has processed everything before it on this connection:
    // from then on the abilities are visible to clients and admin tools.
    packets.push([PacketType.ECHO_REQ, ['registered']]);
    connection.sendBatch(packets);
    this.registration = 'registering';
  }

  private onDown(error: Error | undefined, retryInMs: number | undefined, wasConnected: boolean): void {
    this.registration = 'unregistered';
    this.grabbing = false;
    this.running.clear();
    this.events.down(this, error, retryInMs, wasConnected);
  }

  /**
   * A JOB_ASSIGN over the cap was skipped in the stream: the job is handed on with no payload, to be
   * answered with the reason, and the connection stays (dropping it would make gearmand hand the job
   * out again, forever). Anything else that large is a broken server: reconnect.
   */
  private onOversized(connection: PacketConnection, packet: OversizedPacket): void {
    const job = oversizedAssignment(packet);
    if (!job) {
      connection.destroy(new Error(`${packetTypeName(packet.type)} packet of ${packet.size} bytes exceeds the ${this.options.maxPacketBytes}-byte limit`));
      return;
    }
    this.grabbing = false;
    this.running.add(job.handle);
    this.events.job(this, job);
  }

  private onPacket(connection: PacketConnection, packet: Packet): void {
    switch (packet.type) {
      case PacketType.JOB_ASSIGN_UNIQ: {
        this.grabbing = false;
        const job = assignedJob(packet);
        this.running.add(job.handle);
        this.events.job(this, job);
        return;
      }
      case PacketType.NO_JOB:
        this.grabbing = false;
        this.events.noJob(this);
        return;
      case PacketType.NOOP:
        this.events.wake(this);
        return;
      case PacketType.ERROR: {
        const [code, message] = packet.args as [Buffer, Buffer];
        this.events.serverError(this, code.toString(), message.toString());
        return;
      }
      case PacketType.ECHO_RES:
        if (this.registration === 'registering') {
          this.registration = 'registered';
          this.events.ready(this);
        }
        return;
      case PacketType.OPTION_RES:
        return;
      default:
        connection.destroy(new Error(`unexpected ${packetTypeName(packet.type)} packet from job server`));
    }
  }

  /**
   * Tell the server this connection sleeps: it sends NOOP when work for us arrives (`wake` event), and
   * at once if some is already queued. Only sleeping connections are woken; an idle connection that
   * does not sleep is simply never told, which lets the owner keep one listener per server instead of
   * having every idle slot woken for every job.
   */
  sleep(): void {
    if (this.registration !== 'registered' || this.grabbing || !this.connection) return;
    this.connection.send(PacketType.PRE_SLEEP);
  }

  /** Ask for a job. Answered by a `job` or `noJob` event. No-op while a grab is outstanding. */
  grab(): boolean {
    if (this.registration !== 'registered' || this.grabbing || !this.connection) return false;
    this.grabbing = true;
    this.connection.send(PacketType.GRAB_JOB_UNIQ);
    return true;
  }

  sendStatus(handle: string, numerator: number, denominator: number): boolean {
    return this.sendForJob(handle, PacketType.WORK_STATUS, [handle, String(numerator), String(denominator)]);
  }

  sendData(handle: string, data: string | Uint8Array): boolean {
    return this.sendForJob(handle, PacketType.WORK_DATA, [handle, data]);
  }

  sendWarning(handle: string, data: string | Uint8Array): boolean {
    return this.sendForJob(handle, PacketType.WORK_WARNING, [handle, data]);
  }

  /** Final replies: exactly one of these per job. Returns false when the job's connection is gone. */
  sendComplete(handle: string, result: string | Uint8Array): boolean {
    return this.finish(handle, PacketType.WORK_COMPLETE, [handle, result]);
  }

  sendFail(handle: string): boolean {
    return this.finish(handle, PacketType.WORK_FAIL, [handle]);
  }

  sendException(handle: string, message: string | Uint8Array): boolean {
    return this.finish(handle, PacketType.WORK_EXCEPTION, [handle, message]);
  }

  /** Final reply and the next GRAB in one write: no round trip between jobs. */
  completeAndGrab(handle: string, result: string | Uint8Array): boolean {
    if (!this.connection || !this.running.delete(handle)) return false;
    if (this.registration === 'registered' && !this.grabbing) {
      this.grabbing = true;
      this.connection.sendBatch([
        [PacketType.WORK_COMPLETE, [handle, result]],
        [PacketType.GRAB_JOB_UNIQ, []],
      ]);
    } else this.connection.send(PacketType.WORK_COMPLETE, [handle, result]);
    return true;
  }

  private sendForJob(handle: string, type: number, args: Array<string | Uint8Array>): boolean {
    if (!this.connection || !this.running.has(handle)) return false;
    this.connection.send(type, args);
    return true;
  }

  private finish(handle: string, type: number, args: Array<string | Uint8Array>): boolean {
    if (!this.connection || !this.running.delete(handle)) return false;
    this.connection.send(type, args);
    return true;
  }

  /**
   * Close the connection. With jobs still running on it, gearmand requeues them: callers that drain
   * wait for their jobs first. Never sends CANT_DO/RESET_ABILITIES (that would requeue running jobs too).
   */
  close(): Promise<void> {
    this.registration = 'unregistered';
    return this.server.close();
  }

  /** Close the socket at once (gearmand requeues what was running). */
  abort(): void {
    this.registration = 'unregistered';
    this.server.abort();
  }

  /**
   * Drop the current connection and reconnect: the way to hand an unwanted assigned job back, since
   * gearmand requeues a connection's jobs when it closes.
   */
  dropConnection(): void {
    this.connection?.destroy();
  }
}

/** Default client id: host and pid, so `gearadmin --workers` shows who is who. */
export function defaultClientId(suffix?: string): string {
  return `atom-worker:${hostname()}:${process.pid}${suffix ? `:${suffix}` : ''}`;
}
