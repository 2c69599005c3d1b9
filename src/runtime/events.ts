// What the worker tells the rest of the program: its states, and the job and server events that the
// journal, metrics, sd_notify, AtoM's job table and embedding programs observe.
import type { Logger } from 'pino';
import type { AtomJobContext, AtomSite, JobInfo } from '../types.js';
import type { Outcome } from './execute.js';

/**
 * The worker's lifecycle (src/runtime/worker.ts moves it):
 *
 * | state      | grabs jobs | connected, registered | how it is left                                        |
 * |------------|------------|-----------------------|-------------------------------------------------------|
 * | `starting` | no         | not yet               | `start()` → running                                   |
 * | `running`  | yes        | yes (reconnects)      | `quiet()` → quiet; `drain()` or a recycling limit → draining |
 * | `quiet`    | no         | yes                   | `resume()` → running; `drain()` → draining            |
 * | `draining` | no         | yes (no CANT_DO)      | running jobs end, or the shutdown timeout aborts them → stopped |
 * | `stopped`  | no         | closed                | final; `done` resolves with the exit code             |
 *
 * `stopNow()` goes from any state straight to `stopped`, aborting what runs (gearmand requeues it).
 */
export type WorkerState = 'starting' | 'running' | 'quiet' | 'draining' | 'stopped';

/** How a job ended: its outcome's kind (src/runtime/execute.ts says what each means). */
export type JobEndStatus = Outcome['kind'];

/** One job, as observers see it from assignment to its end. */
export interface JobEvent {
  readonly info: JobInfo;
  readonly server: string;
  readonly slot: number;
  /** The payload as received (empty when it was over the cap and skipped unread). */
  readonly payload: Buffer;
  readonly payloadBytes: number;
  readonly startedAt: number;
}

export interface JobEndDetail {
  readonly reason?: string;
  readonly resultBytes?: number;
}

/** What an observer adds to a handler's context. */
export interface HandlerExtras {
  /** Wrap `ctx.log` (e.g. to copy its lines into AtoM's job row). The worker's own lines are not wrapped. */
  readonly wrapLog?: (log: Logger) => Logger;
  readonly atom?: AtomJobContext;
  readonly atomSite?: AtomSite;
}

/** Hooks for the journal, metrics, sd_notify and embedders; all optional, all synchronous and cheap. */
export interface WorkerObserver {
  /** Before the handler runs: return a reason to fail the job without running it (e.g. too many attempts). */
  refuseJob?(event: JobEvent): string | undefined;
  /** Like refuseJob, when the answer needs I/O; resolves with a reason to refuse, else undefined. Must not reject. */
  admitJob?(event: JobEvent): Promise<string | undefined> | undefined;
  /** Extras for the handler's context, asked once the job is admitted. */
  handlerContext?(event: JobEvent): HandlerExtras | undefined;
  jobStarted?(event: JobEvent): void;
  jobProgress?(event: JobEvent, numerator: number, denominator: number): void;
  jobEnded?(event: JobEvent, status: JobEndStatus, durationMs: number, detail: JobEndDetail): void;
  /** A server's first connection registered (`reconnected`: it had been lost), or its last one was lost. */
  serverChanged?(server: string, connected: boolean, reconnected: boolean): void;
  reconnected?(server: string): void;
  /** Every connection to every server has registered, the first time. */
  registered?(connections: number): void;
  stateChanged?(state: WorkerState, detail: { reason?: string; running: number }): void;
}
