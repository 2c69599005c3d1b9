// A connection to one job server that comes back: it connects, and after a failed attempt or a lost
// connection tries again with exponential backoff until closed, with a heartbeat (heartbeat.ts) on
// each connection when asked. What is said on a connection is its owner's (workerLink.ts).
import type { OversizedPacket, Packet } from './codec.js';
import { PacketConnection } from './connection.js';
import { Heartbeat } from './heartbeat.js';
import { PacketType } from './packets.js';
import type { ServerAddress } from './address.js';

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

export interface ReconnectOptions {
  readonly address: ServerAddress;
  readonly maxPacketBytes: number;
  readonly connectTimeoutMs: number;
  readonly backoff: BackoffPolicy;
  /** After this long without a packet from the server, send ECHO_REQ (undefined: no heartbeat). */
  readonly heartbeatIntervalMs?: number;
  /** No answer to the heartbeat within this long: the connection is dead; drop it and reconnect. */
  readonly heartbeatTimeoutMs?: number;
}

/** Told what happens; packets are passed on only from the current connection. */
export interface ReconnectHandlers {
  /** A new connection is up, the first or a reconnect: the server has forgotten everything said on the last one. */
  connected(connection: PacketConnection): void;
  packet(connection: PacketConnection, packet: Packet): void;
  /** A packet over maxPacketBytes, skipped in the stream (connection.ts). */
  oversized(connection: PacketConnection, packet: OversizedPacket): void;
  /**
   * The connection is gone, or a connect attempt failed (`wasConnected` false). A reconnect is scheduled
   * in `retryInMs` unless the connection was closed.
   */
  down(error: Error | undefined, retryInMs: number | undefined, wasConnected: boolean): void;
}

export class ReconnectingConnection {
  private current: PacketConnection | undefined;
  private state: 'idle' | 'connecting' | 'connected' | 'closed' = 'idle';
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly closeWaiters: Array<() => void> = [];
  private connectedAt = 0;
  /** Of the current connection, when heartbeat_interval is set (heartbeat.ts). */
  private heartbeat: Heartbeat | undefined;

  constructor(
    private readonly options: ReconnectOptions,
    private readonly handlers: ReconnectHandlers,
  ) {}

  /** The current connection, if any: set from `connected` until `down`. */
  get connection(): PacketConnection | undefined {
    return this.current;
  }

  // A method, not an inline comparison: close() may change the state while connect() awaits.
  private isClosed(): boolean {
    return this.state === 'closed';
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
          onPacket: (packet) => {
            if (connection === this.current) this.handlers.packet(connection, packet);
          },
          onOversized: (packet) => {
            if (connection === this.current) this.handlers.oversized(connection, packet);
          },
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
    this.current = connection;
    this.connectedAt = Date.now();
    this.heartbeat?.stop();
    const { heartbeatIntervalMs: intervalMs, heartbeatTimeoutMs: timeoutMs = 10_000 } = this.options;
    this.heartbeat =
      intervalMs === undefined
        ? undefined
        : new Heartbeat({ intervalMs, timeoutMs, probe: () => connection.send(PacketType.ECHO_REQ, ['heartbeat']), dead: (error) => connection.destroy(error) });
    this.state = 'connected';
    this.handlers.connected(connection);
  }

  /** Any bytes prove the server is there, also the middle of a large packet still arriving. */
  private onReceive(connection: PacketConnection): void {
    if (connection === this.current) this.heartbeat?.heard();
  }

  private stopHeartbeat(): void {
    this.heartbeat?.stop();
    this.heartbeat = undefined;
  }

  private scheduleRetry(error: Error | undefined, wasConnected: boolean): void {
    const delay = backoffDelay(this.attempt++, this.options.backoff);
    this.state = 'connecting';
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.handlers.down(error, delay, wasConnected);
  }

  private onClose(connection: PacketConnection, error: Error | undefined): void {
    if (connection !== this.current) return;
    this.current = undefined;
    this.stopHeartbeat();
    // The backoff starts over only after a connection that held: one the server drops at once (or
    // that fails its first packet) keeps it growing, instead of a reconnect loop at full speed.
    if (Date.now() - this.connectedAt >= STABLE_CONNECTION_MS) this.attempt = 0;
    for (const resolve of this.closeWaiters.splice(0)) resolve();
    if (this.state === 'closed') {
      this.handlers.down(error, undefined, true);
      return;
    }
    this.scheduleRetry(error ?? new Error('connection closed by server'), true);
  }

  /** Stop reconnecting and close the connection after flushing what was written; resolves once it is gone. */
  close(): Promise<void> {
    this.stopHeartbeat();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.state = 'closed';
    const connection = this.current;
    if (!connection) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    connection.end();
    return closed;
  }

  /** Stop reconnecting and close the socket at once. */
  abort(): void {
    this.stopHeartbeat();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.state = 'closed';
    this.current?.destroy();
  }
}
