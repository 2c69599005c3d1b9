// Keeps AtoM's `job` row as AtoM's own worker does (arBaseJob): "Job started.", the parameters, the
// handler's log lines, progress, then "Job finished." and status 184, or an [err] line, status 185
// and the error note. Every change goes through the outbox, so a slow or absent database never
// holds up a job; only the check that the row exists waits, and not for long.
import type { Logger } from 'pino';
import type { HandlerExtras, JobEvent, WorkerObserver } from '../runtime/events.js';
import type { AtomDatabase } from './database.js';
import { atomJobLine, type AtomPriority, phpJsonEncode } from './jobLine.js';
import { JOB_STATUS_COMPLETED, JOB_STATUS_ERROR, jobRowExists } from './jobRows.js';
import type { AtomOutbox } from './outbox.js';
import { teeLogger } from './logTee.js';

/** AtoM's own words for a job whose row is missing. */
export const INVALID_JOB_ID = 'Called a Gearman worker with an invalid QubitJob id.';
const ADMIT_TIMEOUT_MS = 3000;
const PROGRESS_INTERVAL_MS = 5000;

interface AtomRun {
  readonly jobId: number;
  readonly name: string;
  readonly parameters: unknown;
  admitted: boolean;
  lastProgressAt: number;
}

/** AtoM's payload: a JSON object whose `id` is the job row's id, and `name` the job's name. */
export function atomJobOf(payload: Buffer, fallbackName: string): { jobId: number; name: string; parameters: unknown } | undefined {
  // `{"id":` is the shortest payload that can name a row; skip parsing anything that cannot.
  if (payload.length < 7 || payload[0] !== 0x7b) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { id, name } = parsed as { id?: unknown; name?: unknown };
  const jobId = typeof id === 'number' ? id : typeof id === 'string' && /^\d+$/.test(id) ? Number(id) : NaN;
  if (!Number.isSafeInteger(jobId) || jobId <= 0) return undefined;
  return { jobId, name: typeof name === 'string' && name !== '' ? name : fallbackName, parameters: parsed };
}

export interface JobTableOptions {
  readonly db: AtomDatabase;
  readonly outbox: AtomOutbox;
  readonly log: Logger;
  /** The culture of the error note (AtoM's default culture). */
  readonly culture: string;
}

export function jobTableObserver(options: JobTableOptions): WorkerObserver {
  const runs = new WeakMap<JobEvent, AtomRun>();
  const { outbox } = options;
  const line = (run: AtomRun, priority: AtomPriority, message: string): void => {
    outbox.enqueue({ kind: 'line', jobId: run.jobId, text: atomJobLine(priority, Date.now(), run.jobId, run.name, message) });
  };
  const admitted = (event: JobEvent): AtomRun | undefined => {
    const run = runs.get(event);
    return run?.admitted ? run : undefined;
  };
  return {
    admitJob(event) {
      const job = atomJobOf(event.payload, event.info.name);
      if (!job) return undefined;
      const run: AtomRun = { ...job, admitted: true, lastProgressAt: 0 };
      runs.set(event, run);
      // While the database is known to be away, do not make every job wait for the check.
      if (outbox.databaseReachable === false) return undefined;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ADMIT_TIMEOUT_MS)));
      const check = jobRowExists(options.db, run.jobId).then(
        (exists) => {
          if (exists) return undefined;
          run.admitted = false;
          return INVALID_JOB_ID;
        },
        () => undefined,
      );
      return Promise.race([check, timeout]).finally(() => clearTimeout(timer));
    },
    jobStarted(event) {
      const run = admitted(event);
      if (!run) return;
      line(run, 'info', 'Job started.');
      line(run, 'info', `Parameters: ${phpJsonEncode(run.parameters)}`);
    },
    handlerContext(event): HandlerExtras | undefined {
      const run = admitted(event);
      if (!run) return undefined;
      return {
        wrapLog: (log) => teeLogger(log, (priority, message) => line(run, priority, message)),
        atom: {
          jobId: run.jobId,
          setDownloadPath: (path) => outbox.enqueue({ kind: 'download_path', jobId: run.jobId, path }),
        },
      };
    },
    jobProgress(event, numerator, denominator) {
      const run = admitted(event);
      if (!run) return;
      const now = Date.now();
      if (now - run.lastProgressAt < PROGRESS_INTERVAL_MS && numerator < denominator) return;
      run.lastProgressAt = now;
      line(run, 'info', `Progress: ${numerator} of ${denominator}${denominator > 0 ? ` (${Math.floor((numerator / denominator) * 100)}%)` : ''}.`);
    },
    jobEnded(event, status, _durationMs, detail) {
      const run = admitted(event);
      if (!run) return;
      if (status === 'completed') {
        line(run, 'info', 'Job finished.');
        outbox.enqueue({ kind: 'end', jobId: run.jobId, statusId: JOB_STATUS_COMPLETED, at: Date.now(), culture: options.culture });
      } else if (status === 'interrupted') {
        // gearmand gives the job to a worker again; the row stays "in progress" for that run.
        line(run, 'warning', `Interrupted: ${detail.reason ?? 'the worker stopped'}. The job server hands the job to a worker again.`);
      } else {
        const reason = detail.reason ?? status;
        line(run, 'err', `Exception: ${reason}`);
        outbox.enqueue({ kind: 'end', jobId: run.jobId, statusId: JOB_STATUS_ERROR, at: Date.now(), errorNote: reason, culture: options.culture });
      }
    },
  };
}
