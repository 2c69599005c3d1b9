// The worker observer that journals every job run, recognises re-deliveries after a crash, and
// enforces max_attempts through the synchronous refuseJob hook.
import type { Logger } from 'pino';
import type { JobEndStatus, JobEvent, WorkerObserver } from '../runtime/events.js';
import type { RunRef } from './run.js';
import type { JournalStatus } from './schema.js';
import type { JournalWriter } from './writer.js';

export interface JournalObserverOptions {
  readonly writer: JournalWriter;
  readonly log: Logger;
  /** The client id of slot connections: `base` with one slot, `base:N` with several. */
  readonly workerId: (slot: number) => string;
  readonly maxAttempts: number | undefined;
}

/** Worker outcomes as journal statuses. */
export function journalStatusOf(status: JobEndStatus): Exclude<JournalStatus, 'running'> {
  switch (status) {
    case 'completed':
      return 'completed';
    case 'failed':
    case 'rejected':
      return 'failed';
    case 'timed_out':
      return 'timed_out';
    case 'interrupted':
      return 'abandoned';
  }
}

export function journalObserver(options: JournalObserverOptions): WorkerObserver {
  const runs = new WeakMap<JobEvent, RunRef>();
  const { writer, log } = options;
  // The worker id of a slot never changes: build each string once.
  const workerIds: string[] = [];
  return {
    jobStarted(event) {
      let ref: RunRef;
      try {
        const info = event.info;
        ref = writer.start(
          info.handle,
          info.unique,
          info.function,
          workerIds[event.slot] ??= options.workerId(event.slot),
          event.server,
          event.startedAt,
          event.payloadBytes,
        );
      } catch (error) {
        log.error({ err: (error as Error).message, journal: writer.file }, 'job journal lookup failed; this run is not journalled');
        return;
      }
      runs.set(event, ref);
      if (ref.previous) {
        const previous = ref.previous;
        log.warn(
          {
            handle: event.info.handle,
            unique: event.info.unique,
            function: event.info.function,
            attempt: ref.attempt,
            previous_pid: previous.pid,
            previous_host: previous.host,
            previous_status: previous.status,
          },
          previous.processGone
            ? `job re-delivered after its worker (pid ${previous.pid}) died: attempt ${ref.attempt}`
            : `job re-delivered: attempt ${ref.attempt}`,
        );
      }
    },
    refuseJob(event) {
      const ref = runs.get(event);
      if (!ref || options.maxAttempts === undefined || ref.attempt <= options.maxAttempts) return undefined;
      return `gave up after ${options.maxAttempts} attempts`;
    },
    jobProgress(event, numerator, denominator) {
      const ref = runs.get(event);
      if (ref) writer.progress(ref, numerator, denominator);
    },
    jobEnded(event, status, durationMs, detail) {
      const ref = runs.get(event);
      if (!ref) return;
      writer.end(ref, journalStatusOf(status), event.startedAt + durationMs, durationMs, detail.reason, detail.resultBytes);
    },
  };
}
