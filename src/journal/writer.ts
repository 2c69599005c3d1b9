// The worker's side of the job journal: one row per run of a job. Writes are queued in memory and
// flushed in one transaction every FLUSH_INTERVAL_MS (and on close), so the hot path only pays for
// an in-memory re-delivery lookup per job start (and one indexed SELECT when it is a suspect). A
// locked journal never freezes the worker: a batch that cannot be written stays queued.
import { hostname } from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { openJournalDatabase } from './database.js';
import { processAlive } from './processAlive.js';
import { type PreviousRun, Run, type RunRef } from './run.js';
import type { JournalStatus } from './schema.js';
import { RedeliverySuspects } from './suspects.js';

const FLUSH_INTERVAL_MS = 50;
/**
 * The worker's writes wait at most this long for a lock another process holds (better-sqlite3 is
 * synchronous: a wait is a frozen event loop); a batch that could not be written stays queued for
 * the next flush.
 */
const WRITER_BUSY_TIMEOUT_MS = 5;
/** At close, the last batch may wait this long for the lock: the loop is ending anyway. */
const CLOSE_BUSY_TIMEOUT_MS = 5000;

export interface JournalWriterOptions {
  readonly file: string;
  readonly flushIntervalMs?: number;
  /**
   * How old the re-delivery suspects may get before the next job start reloads them (when another
   * process wrote to the journal since); default the flush interval.
   */
  readonly suspectRefreshMs?: number;
  readonly onError?: (error: Error) => void;
}

/**
 * The worker's side: queue writes, flush them in batches, answer the re-delivery lookup synchronously.
 *
 * The re-delivery lookup does not query SQLite for every job: a job start can only be a re-delivery
 * if the journal's last row for its unique key (or handle) is `running` or `abandoned`. The writer
 * keeps those keys in memory ("suspects"): this process's own unfinished and abandoned runs (always
 * exact), and the other processes' running rows and abandoned rows (RedeliverySuspects, refreshed
 * every `suspectRefreshMs`). Only a suspect key costs the indexed SELECT.
 */
export class JournalWriter {
  readonly file: string;
  private readonly db: Database.Database;
  /** Runs with changes not yet written, in order. */
  private queue: Run[] = [];
  /** Runs of this process not yet final (or abandoned), by unique key, and by handle for an empty unique. */
  private readonly liveByUnique = new Map<string, Run>();
  private readonly liveByHandle = new Map<string, Run>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly flushIntervalMs: number;
  private readonly host = hostname();
  private readonly pid = process.pid;
  private readonly insert: Database.Statement;
  private readonly update: Database.Statement;
  private readonly byUnique: Database.Statement;
  private readonly byHandle: Database.Statement;
  private readonly abandon: Database.Statement;
  private readonly suspects: RedeliverySuspects;
  private readonly write: (runs: Run[], rowIds: number[]) => void;

  constructor(private readonly options: JournalWriterOptions) {
    this.file = path.resolve(options.file);
    this.flushIntervalMs = options.flushIntervalMs ?? FLUSH_INTERVAL_MS;
    this.db = openJournalDatabase(this.file);
    this.db.pragma(`busy_timeout = ${WRITER_BUSY_TIMEOUT_MS}`);
    // Positional parameters (binding by name costs more per row); host and pid are this process's.
    this.insert = this.db.prepare(
      `INSERT INTO jobs (handle, unique_key, function, worker_id, host, pid, server, attempt, status, started_at, ended_at, duration_ms, progress_numerator, progress_denominator, error, payload_bytes, result_bytes) VALUES (?, ?, ?, ?, '${this.host.replaceAll("'", "''")}', ${this.pid}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.update = this.db.prepare(
      `UPDATE jobs SET status = ?, ended_at = ?, duration_ms = ?, progress_numerator = ?, progress_denominator = ?, error = ?, result_bytes = ? WHERE id = ?`,
    );
    this.byUnique = this.db.prepare('SELECT id, attempt, pid, host, status FROM jobs WHERE unique_key = ? ORDER BY id DESC LIMIT 1');
    this.abandon = this.db.prepare("UPDATE jobs SET status = 'abandoned', error = ? WHERE id = ? AND status = 'running'");
    this.byHandle = this.db.prepare("SELECT id, attempt, pid, host, status FROM jobs WHERE handle = ? AND unique_key = '' ORDER BY id DESC LIMIT 1");
    this.write = this.db.transaction((runs: Run[], rowIds: number[]) => {
      for (let index = 0; index < runs.length; index++) {
        const run = runs[index]!;
        if (run.rowId === 0) {
          rowIds[index] = Number(
            this.insert.run(
              run.handle, run.unique, run.fn, run.workerId, run.server, run.attempt, run.status, run.startedAt, run.endedAt,
              run.durationMs, run.progressNumerator, run.progressDenominator, run.error, run.payloadBytes, run.resultBytes,
            ).lastInsertRowid,
          );
        } else {
          this.update.run(run.status, run.endedAt, run.durationMs, run.progressNumerator, run.progressDenominator, run.error, run.resultBytes, run.rowId);
          rowIds[index] = run.rowId;
        }
      }
    });
    this.suspects = new RedeliverySuspects(this.db, this.host, this.pid, options.suspectRefreshMs ?? this.flushIntervalMs);
  }

  /**
   * The last run of the same job (matched on the unique key, which gearmand keeps across requeues; on
   * the handle when the unique is empty), if it did not end: then this run is a re-delivery.
   */
  private previousRun(unique: string, handle: string, now: number): PreviousRun | undefined {
    const mine = unique !== '' ? this.liveByUnique.get(unique) : this.liveByHandle.get(handle);
    if (mine) {
      if (mine.status === 'abandoned' || mine.status === 'running') {
        return { attempt: mine.attempt, pid: this.pid, host: this.host, status: mine.status, processGone: false };
      }
      return undefined;
    }
    if (!this.suspects.has(unique, handle, now)) return undefined;
    const row = (unique !== '' ? this.byUnique.get(unique) : this.byHandle.get(handle)) as
      | { id: number; attempt: number; pid: number; host: string; status: JournalStatus }
      | undefined;
    if (!row || (row.status !== 'running' && row.status !== 'abandoned')) return undefined;
    // This process's own runs are known from memory: a row of ours not there has ended (flush pending).
    if (row.host === this.host && row.pid === this.pid) return undefined;
    const processGone = row.status === 'running' && row.host === this.host && !processAlive(row.pid);
    if (processGone) {
      // Close the crashed run's row: it will never be updated by its own process. Rare (only after a
      // crash); if another writer holds the lock too long, the row stays `running (worker gone)`.
      try {
        this.abandon.run(`the worker (pid ${row.pid}) died while running it; re-delivered`, row.id);
      } catch (error) {
        this.options.onError?.(error as Error);
      }
    }
    return { attempt: row.attempt, pid: row.pid, host: row.host, status: row.status, processGone };
  }

  /** Record a job start; synchronous (an in-memory lookup; SQLite only for a suspected re-delivery), the INSERT is queued. */
  start(handle: string, unique: string, fn: string, workerId: string, server: string, startedAt: number, payloadBytes: number): RunRef {
    const previous = this.previousRun(unique, handle, startedAt);
    const run = new Run(previous ? previous.attempt + 1 : 1, previous, handle, unique, fn, workerId, server, startedAt, payloadBytes);
    this.queue.push(run);
    if (unique !== '') this.liveByUnique.set(unique, run);
    else this.liveByHandle.set(handle, run);
    if (this.timer === undefined) this.schedule();
    return run;
  }

  progress(ref: RunRef, numerator: number, denominator: number): void {
    const run = ref as Run;
    if (run.status !== 'running') return;
    run.progressNumerator = numerator;
    run.progressDenominator = denominator;
    this.touch(run);
  }

  /** Record a job end (queued). */
  end(ref: RunRef, status: Exclude<JournalStatus, 'running'>, endedAt: number, durationMs: number, error: string | undefined, resultBytes: number | undefined): void {
    const run = ref as Run;
    if (run.status !== 'running') return;
    run.status = status;
    run.endedAt = endedAt;
    run.durationMs = durationMs;
    run.error = error ?? null;
    run.resultBytes = resultBytes ?? null;
    // An abandoned run stays known here: gearmand re-delivers it, maybe to this very process.
    if (status !== 'abandoned') {
      if (run.unique !== '') {
        if (this.liveByUnique.get(run.unique) === run) this.liveByUnique.delete(run.unique);
      } else if (this.liveByHandle.get(run.handle) === run) this.liveByHandle.delete(run.handle);
    }
    if (this.liveByUnique.size + this.liveByHandle.size > 10_000) {
      this.liveByUnique.clear();
      this.liveByHandle.clear();
    }
    this.touch(run);
  }

  private touch(run: Run): void {
    if (!run.queued) {
      run.queued = true;
      this.queue.push(run);
    }
    if (this.timer === undefined) this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.flushIntervalMs);
    this.timer.unref();
  }

  /** Write every queued change in one transaction. */
  flush(): void {
    if (this.closed) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const runs = this.queue;
    if (runs.length === 0) return;
    const rowIds = new Array<number>(runs.length);
    try {
      this.write(runs, rowIds);
    } catch (error) {
      // A locked or broken journal must not stop the worker; keep the rows queued for the next flush.
      // The transaction rolled back whole: nothing of this batch is in the file.
      this.options.onError?.(error as Error);
      this.schedule();
      return;
    }
    // Only once the transaction has committed does the in-memory state move on.
    this.queue = [];
    for (let index = 0; index < runs.length; index++) {
      const run = runs[index]!;
      run.rowId = rowIds[index]!;
      run.queued = false;
    }
  }

  /** Runs with changes not yet in the file. */
  get unwritten(): number {
    return this.queue.length;
  }

  /**
   * Write what is left, waiting up to CLOSE_BUSY_TIMEOUT_MS for a lock, and close. Returns how many
   * runs could not be written (the caller must say so: those outcomes are lost to the journal).
   */
  close(): number {
    if (this.closed) return 0;
    this.flush();
    if (this.queue.length > 0) {
      this.db.pragma(`busy_timeout = ${CLOSE_BUSY_TIMEOUT_MS}`);
      this.flush();
    }
    const unwritten = this.queue.length;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.db.close();
    return unwritten;
  }
}
