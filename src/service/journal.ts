// The job journal as the running worker uses it: the writer, its throttled error lines, and the
// observer that journals each run. better-sqlite3 loads only when a journal is configured.
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { EX_CONFIG } from '../exitCodes.js';
import type { WorkerObserver } from '../runtime/events.js';
import { slotClientId } from '../runtime/options.js';
import type { JournalWriter } from '../journal/writer.js';
import { StartupError } from './startupError.js';

/** A locked journal fails every flush: say so at once, then at most this often. */
const ERROR_REPORT_INTERVAL_MS = 30_000;

export interface WorkerJournal {
  readonly writer: JournalWriter;
  readonly observer: WorkerObserver;
}

export async function openWorkerJournal(settings: Settings, journalPath: string, clientId: string, log: Logger): Promise<WorkerJournal> {
  const [{ JournalWriter }, { journalObserver }] = await Promise.all([import('../journal/writer.js'), import('../journal/observer.js')]);
  let lastReportAt = 0;
  let failures = 0;
  let writer: JournalWriter | undefined;
  try {
    writer = new JournalWriter({
      file: journalPath,
      onError: (error) => {
        failures++;
        const now = Date.now();
        if (now - lastReportAt < ERROR_REPORT_INTERVAL_MS) return;
        lastReportAt = now;
        log.error({ err: error.message, journal: journalPath, failures, queued: writer?.unwritten }, 'job journal write failed; the rows stay queued and are retried');
        failures = 0;
      },
    });
  } catch (error) {
    throw new StartupError(`cannot open the job journal ${journalPath}: ${(error as Error).message} (set journal_path, --journal PATH or --no-journal)`, EX_CONFIG);
  }
  const observer = journalObserver({
    writer,
    log,
    workerId: (slot) => slotClientId(clientId, slot, settings.concurrency),
    maxAttempts: settings.maxAttempts,
  });
  return { writer, observer };
}
