// A run of a job in this process, as the writer keeps it between flushes: the ref the observer holds
// is the same flat object as the row's pending values (no per-job copies or arrays on the hot path).
import type { JournalStatus } from './schema.js';

export interface PreviousRun {
  readonly attempt: number;
  readonly pid: number;
  readonly host: string;
  readonly status: JournalStatus;
  /** Whether the process that ran it is known to be gone (same host, pid not alive). */
  readonly processGone: boolean;
}

/** A started run's handle for later updates. */
export interface RunRef {
  readonly attempt: number;
  readonly previous: PreviousRun | undefined;
}

/** A run of this process: the ref handed out and the row's current values, in one flat object. */
export class Run implements RunRef {
  /** The row id once inserted (0: not yet). */
  rowId = 0;
  /** Waiting in the queue for the next flush. */
  queued = true;
  status: JournalStatus = 'running';
  endedAt: number | null = null;
  durationMs: number | null = null;
  progressNumerator: number | null = null;
  progressDenominator: number | null = null;
  error: string | null = null;
  resultBytes: number | null = null;

  constructor(
    readonly attempt: number,
    readonly previous: PreviousRun | undefined,
    readonly handle: string,
    readonly unique: string,
    readonly fn: string,
    readonly workerId: string,
    readonly server: string,
    readonly startedAt: number,
    readonly payloadBytes: number,
  ) {}
}
