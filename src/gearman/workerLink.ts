// The worker side of one connection to one job server: registration, grab/sleep/wake, job replies,
// and reconnection with backoff. It speaks packets; its owner (a runtime slot) sees only events.
import { hostname } from 'node:os';
import type { OversizedPacket, Packet } from './codec.js';
import { PacketConnection } from './connection.js';
import { Heartbeat } from './heartbeat.js';
import { PacketType, packetTypeName } from './packets.js';
import { formatAddress, type ServerAddress } from './address.js';

/** A function to register, with the server-side timeout to send in CAN_DO_TIMEOUT (ms), if any. */
export interface Ability {
  readonly name: string;
  readonly serverTimeoutMs?: number;
}

/** A job as assigned by the server. `payload` is a view into the received bytes. */
export interface AssignedJob {
  readonly handle: string;
  readonly functionName: string;
  readonly unique: string;
  readonly payload: Buffer;
  /** Set when the packet was over the cap and skipped unread: the payload's size; `payload` is then empty. */
  readonly oversizedBytes?: number;
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

export interface WorkerLinkOptions {
  readonly address: ServerAddress;
  readonly clientId: string;
  readonly abilities: readonly Ability[];
  readonly maxPacketBytes: number;
  readonly connectTimeoutMs: number;
  readonly backoff: BackoffPolicy;
  /** After this long without a packet from the server, send ECHO_REQ (undefined: no heartbeat). */
  readonly heartbeatIntervalMs?: number;
  /** No answer to the heartbeat within this long: the connection is dead; drop it and reconnect. */
  readonly heartbeatTimeoutMs?: number;
}

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** Exponential backoff with full jitter in [delay/2, delay], capped. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/** A connection that lasted this long resets the reconnect backoff. */
export const STABLE_CONNECTION_MS = 1000;

export type LinkState = 'idle' | 'connecting' | 'registering' | 'registered' | 'closed';

export class WorkerLink {
  readonly name: string;
  private connection: PacketConnection | undefined;
  private state: LinkState = 'idle';
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** A GRAB is on the wire and unanswered. */
  private grabbing = false;
  /** Handles of jobs assigned on this connection and not yet answered. */
  private readonly running = new Set<string>();
  private readonly closeWaiters: Array<() => void> = [];
  private connectedAt = 0;
  /** Of the current connection, when heartbeat_interval is set (heartbeat.ts). */
  private heartbeat: Heartbeat | undefined;

  constructor(
    private readonly options: WorkerLinkOptions,
    private readonly events: WorkerLinkEvents,
  ) {
    this.name = formatAddress(options.address);
  }

  get address(): ServerAddress {
    return this.options.address;
  }

  // A method, not an inline comparison: close() may change the state while connect() awaits.
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  get isRegistered(): boolean {
    return this.state === 'registered';
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
    if (this.state !== 'idle') return;
    void this.connect();
  }

  private async connect(): Promise<void> {
    this.state = 'connecting';
    this.retryTimer = undefined;
    let connection: PacketConnection;
    try {
      connection = await PacketConnection.connect(
        this.options.address,
        {
          onPacket: (packet) => this.onPacket(connection, packet),
          onOversized: (packet) => this.onOversized(connection, packet),
          onReceive: () => this.onReceive(connection),
          onClose: (error) => this.onClose(connection, error),
        },
        { connectTimeoutMs: this.options.connectTimeoutMs, maxPacketBytes: this.options.maxPacketBytes },
      );
    } catch (error) {
      if (this.isClosed()) return;
      this.scheduleRetry(error instanceof Error ? error : new Error(String(error)), false);
      return;
    }
    if (this.isClosed()) {
      connection.end();
      return;
    }
    this.connection = connection;
    this.connectedAt = Date.now();
    this.heartbeat?.stop();
    const { heartbeatIntervalMs: intervalMs, heartbeatTimeoutMs: timeoutMs = 10_000 } = this.options;
    this.heartbeat =
      intervalMs === undefined
        ? undefined
        : new Heartbeat({ intervalMs, timeoutMs, probe: () => connection.send(PacketType.ECHO_REQ, ['heartbeat']), dead: (error) => connection.destroy(error) });
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
    this.state = 'registering';
  }

  /** Any bytes prove the server is there, also the middle of a large packet still arriving. */
  private onReceive(connection: PacketConnection): void {
    if (connection === this.connection) this.heartbeat?.heard();
  }

  private stopHeartbeat(): void {
    this.heartbeat?.stop();
    this.heartbeat = undefined;
  }

  private scheduleRetry(error: Error | undefined, wasConnected: boolean): void {
    const delay = backoffDelay(this.attempt++, this.options.backoff);
    this.state = 'connecting';
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.events.down(this, error, delay, wasConnected);
  }

  private onClose(connection: PacketConnection, error: Error | undefined): void {
    if (connection !== this.connection) return;
    this.connection = undefined;
    this.stopHeartbeat();
    // The backoff starts over only after a connection that held: one the server drops at once (or
    // that fails its first packet) keeps it growing, instead of a reconnect loop at full speed.
    if (Date.now() - this.connectedAt >= STABLE_CONNECTION_MS) this.attempt = 0;
    for (const resolve of this.closeWaiters.splice(0)) resolve();
    this.grabbing = false;
    this.running.clear();
    if (this.state === 'closed') {
      this.events.down(this, error, undefined, true);
      return;
    }
    this.scheduleRetry(error ?? new Error('connection closed by server'), true);
  }

  /**
   * A JOB_ASSIGN over the cap was skipped in the stream: the job is handed on with no payload, to be
   * answered with the reason, and the connection stays (dropping it would make gearmand hand the job
   * out again, forever). Anything else that large is a broken server: reconnect.
   */
  private onOversized(connection: PacketConnection, packet: OversizedPacket): void {
    if (connection !== this.connection) return;
    const head = packet.head;
    const firstNul = head.indexOf(0);
    const secondNul = firstNul === -1 ? -1 : head.indexOf(0, firstNul + 1);
    const thirdNul = secondNul === -1 ? -1 : head.indexOf(0, secondNul + 1);
    if (packet.type !== PacketType.JOB_ASSIGN_UNIQ || thirdNul === -1) {
      connection.destroy(new Error(`${packetTypeName(packet.type)} packet of ${packet.size} bytes exceeds the ${this.options.maxPacketBytes}-byte limit`));
      return;
    }
    this.grabbing = false;
    const job: AssignedJob = {
      handle: head.subarray(0, firstNul).toString('latin1'),
      functionName: head.subarray(firstNul + 1, secondNul).toString(),
      unique: head.subarray(secondNul + 1, thirdNul).toString(),
      payload: Buffer.alloc(0),
      oversizedBytes: packet.size - (thirdNul + 1),
    };
    this.running.add(job.handle);
    this.events.job(this, job);
  }

  private onPacket(connection: PacketConnection, packet: Packet): void {
    if (connection !== this.connection) return;
    switch (packet.type) {
      case PacketType.JOB_ASSIGN_UNIQ: {
        this.grabbing = false;
        const [handle, fn, unique, payload] = packet.args as [Buffer, Buffer, Buffer, Buffer];
        const job: AssignedJob = {
          handle: handle.toString('latin1'),
          functionName: fn.toString(),
          unique: unique.toString(),
          payload,
        };
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
        if (this.state === 'registering') {
          this.state = 'registered';
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
    if (this.state !== 'registered' || this.grabbing || !this.connection) return;
    this.connection.send(PacketType.PRE_SLEEP);
  }

  /** Ask for a job. Answered by a `job` or `noJob` event. No-op while a grab is outstanding. */
  grab(): boolean {
    if (this.state !== 'registered' || this.grabbing || !this.connection) return false;
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
    if (this.state === 'registered' && !this.grabbing) {
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
    this.stopHeartbeat();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.state = 'closed';
    const connection = this.connection;
    if (!connection) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    connection.end();
    return closed;
  }

  /** Close the socket at once (gearmand requeues what was running). */
  abort(): void {
    this.stopHeartbeat();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.state = 'closed';
    this.connection?.destroy();
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
