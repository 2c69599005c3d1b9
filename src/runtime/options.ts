// The worker's options and every runtime default, in one place (as Temporal's worker-options.ts).
import type { Logger } from 'pino';
import type { ServerAddress } from '../gearman/address.js';
import type { WorkerObserver } from './events.js';
import type { LoadedJob } from './loadJobs.js';

/** A job registered under its final function name (prefix included). */
export interface Registration {
  readonly functionName: string;
  readonly job: LoadedJob;
  /** The effective time limit, from the job or the worker default. */
  readonly timeoutMs: number | undefined;
}

/**
 * How a failed job is answered. 'fail': WORK_WARNING with the reason, then WORK_FAIL (every client
 * understands it). 'exception': WORK_EXCEPTION with the reason. gearmand 1.1.20 forwards that only to
 * clients that asked for exceptions and sends the others a malformed WORK_FAIL that libgearman
 * clients never match, so they wait forever.
 */
export type FailureReply = 'fail' | 'exception';

export interface WorkerOptions {
  readonly servers: readonly ServerAddress[];
  readonly registrations: readonly Registration[];
  readonly concurrency: number;
  readonly log: Logger;
  readonly jobSettings: Readonly<Record<string, unknown>>;
  /** The base client id; with concurrency > 1 each slot's connections add `:<slot>` (slotClientId). */
  readonly clientId: string;
  readonly maxPayloadBytes: number;
  readonly shutdownTimeoutMs: number;
  readonly failureReply?: FailureReply;
  /**
   * Also register timed jobs with CAN_DO_TIMEOUT. Off by default: gearmand 1.1.20's timer fires on
   * reused connections after the job has ended, requeues it and underflows its counters (gearmand
   * issue 301, fixed after 1.1.20); the worker enforces time limits itself either way.
   */
  readonly serverTimeouts?: boolean;
  /** Per connection: ECHO_REQ after this long without a packet; no answer within the timeout drops it. */
  readonly heartbeat?: { intervalMs: number; timeoutMs: number };
  /** How long an aborted handler gets to return before its slot is declared stuck. */
  readonly abortGraceMs?: number;
  readonly maxJobCount?: number | undefined;
  readonly maxMemUsageKb?: number | undefined;
  /** Already including any random splay. */
  readonly maxRuntimeMs?: number | undefined;
  readonly backoff?: { initialMs: number; maxMs: number };
  readonly observers?: readonly WorkerObserver[];
}

/** How long an aborted job may take to end before it is abandoned. */
export const DEFAULT_ABORT_GRACE_MS = 5000;
export const DEFAULT_FAILURE_REPLY: FailureReply = 'fail';
/** Reconnect backoff per connection: doubling from 100 ms, capped at 30 s, with jitter. */
export const DEFAULT_BACKOFF = { initialMs: 100, maxMs: 30_000 } as const;
export const CONNECT_TIMEOUT_MS = 5000;
/** Room above max_payload_bytes for a packet's header and handle, so a payload at the cap is read. */
export const PACKET_HEADROOM_BYTES = 64 * 1024;
/** An unreachable server: one warning at the first failure, then at most one per this interval. */
export const UNREACHABLE_LOG_INTERVAL_MS = 30_000;
/** After the last reply, how long closing sockets may take before `done` resolves anyway. */
export const CLOSE_BOUND_MS = 3000;
/** How many ended jobs the event-loop monitor can still name. */
export const RECENTLY_ENDED_KEPT = 16;

/** A slot's client id (what gearadmin --workers and the journal show). */
export function slotClientId(baseClientId: string, slot: number, concurrency: number): string {
  return concurrency > 1 ? `${baseClientId}:${slot}` : baseClientId;
}

/** CAN_DO_TIMEOUT value (ms): our own limit plus a grace, so gearmand's timer (which requeues) never fires first. */
export function serverTimeoutFor(timeoutMs: number): number {
  return timeoutMs + Math.max(1000, Math.round(timeoutMs / 10));
}
