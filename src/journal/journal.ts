// The job journal: one SQLite row per run of a job (better-sqlite3, WAL). The worker's writes are
// queued in memory and flushed in one transaction every FLUSH_INTERVAL_MS (and on close), so the hot
// path only pays for one indexed SELECT per job start (the re-delivery lookup). Several workers on
// one machine share the file: WAL lets readers and one writer work at once, busy_timeout waits out
// the other writers' short transactions.
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';

export type JournalStatus = 'running' | 'completed' | 'failed' | 'timed_out' | 'abandoned';
export const JOURNAL_STATUSES: readonly JournalStatus[] = ['running', 'completed', 'failed', 'timed_out', 'abandoned'];

/** A journal row as stored (times in ms since the epoch). */
export interface JournalRow {
  readonly id: number;
  readonly handle: string;
  readonly unique_key: string;
  readonly function: string;
  readonly worker_id: string;
  readonly host: string;
  readonly pid: number;
  readonly server: string | null;
  readonly attempt: number;
  readonly status: JournalStatus;
  readonly started_at: number;
  readonly ended_at: number | null;
  readonly duration_ms: number | null;
  readonly progress_numerator: number | null;
  readonly progress_denominator: number | null;
  readonly error: string | null;
  readonly payload_bytes: number | null;
  readonly result_bytes: number | null;
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  handle TEXT NOT NULL,
  unique_key TEXT NOT NULL,
  function TEXT NOT NULL,
  worker_id TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  server TEXT,
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  duration_ms INTEGER,
  progress_numerator INTEGER,
  progress_denominator INTEGER,
  error TEXT,
  payload_bytes INTEGER,
  result_bytes INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_by_unique ON jobs (unique_key, id);
CREATE INDEX IF NOT EXISTS jobs_by_handle ON jobs (handle, id);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, started_at);
CREATE INDEX IF NOT EXISTS jobs_by_started ON jobs (started_at);
`;

const FLUSH_INTERVAL_MS = 50;
const BUSY_TIMEOUT_MS = 5000;
/**
 * The worker's writes wait at most this long for a lock another process holds (better-sqlite3 is
 * synchronous: a wait is a frozen event loop); a batch that could not be written stays queued for
 * the next flush.
 */
const WRITER_BUSY_TIMEOUT_MS = 5;
/** At close, the last batch may wait this long for the lock: the loop is ending anyway. */
const CLOSE_BUSY_TIMEOUT_MS = 5000;
/** `jobs clear` deletes this many rows per transaction, so running workers' writes get in between. */
const CLEAR_BATCH_ROWS = 2000;

export interface OpenOptions {
  readonly readonly?: boolean;
  /** Fail instead of creating a missing file (the reading verbs). */
  readonly mustExist?: boolean;
}

/** Open (and create, migrate) a journal database. */
export function openJournalDatabase(file: string, options: OpenOptions = {}): Database.Database {
  // Job errors and handles are nobody else's business: a folder we create is 0700, the file 0600
  // (SQLite gives its -wal and -shm files the database file's mode).
  if (!options.mustExist) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    closeSync(openSync(file, 'a', 0o600));
    if (typeof process.getuid === 'function' && statSync(file).uid === process.getuid()) chmodSync(file, 0o600);
  }
  const db = new Database(file, { fileMustExist: options.mustExist === true, readonly: options.readonly === true, timeout: BUSY_TIMEOUT_MS });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // A 2 MB page cache instead of better-sqlite3's 16 MB: the worker only appends and looks up a few
  // rows, and the larger cache showed up as resident memory growing over the first 200k jobs.
  db.pragma('cache_size = -2000');
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a process crash (SIGKILL); only an OS crash may lose the last ones.
    db.pragma('synchronous = NORMAL');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version < SCHEMA_VERSION) {
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }
  }
  return db;
}

/** Whether a process with this pid exists on this machine. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StartRecord {
  readonly handle: string;
  readonly unique: string;
  readonly function: string;
  readonly workerId: string;
  readonly server: string;
  readonly startedAt: number;
  readonly payloadBytes: number;
}

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
class Run implements RunRef {
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

/** Rows of other processes that make a job start a possible re-delivery (see JournalWriter). */
interface SuspectRow {
  unique_key: string;
  handle: string;
  status: JournalStatus;
  pid: number;
  host: string;
  started_at: number;
}

/**
 * The worker's side: queue writes, flush them in batches, answer the re-delivery lookup synchronously.
 *
 * The re-delivery lookup does not query SQLite for every job: a job start can only be a re-delivery
 * if the journal's last row for its unique key (or handle) is `running` or `abandoned`. The writer
 * keeps those keys in memory ("suspects"): this process's own unfinished and abandoned runs (always
 * exact), and the other processes' running rows and abandoned rows, loaded at open and reloaded by
 * one indexed query at a job start when the copy is older than `suspectRefreshMs` and another process
 * has committed since (PRAGMA data_version). Only a suspect key costs the indexed SELECT.
 */
export class JournalWriter {
  readonly file: string;
  private readonly db: Database.Database;
  /** Runs with changes not yet written, in order. */
  private queue: Run[] = [];
  /** Runs of this process not yet final (or abandoned), by unique key, and by handle for an empty unique. */
  private readonly liveByUnique = new Map<string, Run>();
  private readonly liveByHandle = new Map<string, Run>();
  /** Other processes' running rows (rebuilt on each reload) and abandoned rows (accumulated). */
  private runningUniques = new Set<string>();
  private runningHandles = new Set<string>();
  private readonly abandonedUniques = new Set<string>();
  private readonly abandonedHandles = new Set<string>();
  private suspectsAt = -Infinity;
  private dataVersion = -1;
  /** Abandoned rows started before this are already known (see reloadSuspects). */
  private abandonedSince = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly flushIntervalMs: number;
  private readonly suspectRefreshMs: number;
  private readonly host = hostname();
  private readonly pid = process.pid;
  private readonly insert: Database.Statement;
  private readonly update: Database.Statement;
  private readonly byUnique: Database.Statement;
  private readonly byHandle: Database.Statement;
  private readonly abandon: Database.Statement;
  private readonly suspects: Database.Statement;
  private readonly dataVersionOf: Database.Statement;
  private readonly write: (runs: Run[], rowIds: number[]) => void;

  constructor(private readonly options: JournalWriterOptions) {
    this.file = path.resolve(options.file);
    this.flushIntervalMs = options.flushIntervalMs ?? FLUSH_INTERVAL_MS;
    this.suspectRefreshMs = options.suspectRefreshMs ?? this.flushIntervalMs;
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
    // Both halves use jobs_by_status (status, started_at).
    this.suspects = this.db.prepare(
      "SELECT unique_key, handle, status, pid, host, started_at FROM jobs WHERE status = 'running' UNION ALL SELECT unique_key, handle, status, pid, host, started_at FROM jobs WHERE status = 'abandoned' AND started_at >= ?",
    );
    this.dataVersionOf = this.db.prepare('PRAGMA data_version').pluck();
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
    this.reloadSuspects(Date.now());
  }

  /**
   * Reload the other processes' running rows (all of them: the jobs in flight on this machine, and
   * the ones left by dead workers) and add the abandoned rows not seen yet. A row turns abandoned
   * from running (then it was running at the last reload, or inserted since), so abandoned rows
   * started before both the oldest running row of the last reload and a minute before it are known.
   */
  private reloadSuspects(now: number): void {
    const version = this.dataVersionOf.get() as number;
    this.suspectsAt = now;
    if (version === this.dataVersion) return;
    const rows = this.suspects.all(this.abandonedSince) as SuspectRow[];
    this.dataVersion = version;
    const runningUniques = new Set<string>();
    const runningHandles = new Set<string>();
    let oldestRunning = now;
    for (const row of rows) {
      if (row.pid === this.pid && row.host === this.host) continue; // ours: known exactly from memory
      if (row.status === 'running') {
        if (row.started_at < oldestRunning) oldestRunning = row.started_at;
        if (row.unique_key !== '') runningUniques.add(row.unique_key);
        else runningHandles.add(row.handle);
      } else if (row.unique_key !== '') this.abandonedUniques.add(row.unique_key);
      else this.abandonedHandles.add(row.handle);
    }
    this.runningUniques = runningUniques;
    this.runningHandles = runningHandles;
    this.abandonedSince = Math.min(oldestRunning, now - 60_000);
  }

  private suspect(unique: string, handle: string): boolean {
    return unique !== '' ? this.runningUniques.has(unique) || this.abandonedUniques.has(unique) : this.runningHandles.has(handle) || this.abandonedHandles.has(handle);
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
    if (now - this.suspectsAt >= this.suspectRefreshMs || now < this.suspectsAt) this.reloadSuspects(now);
    if (!this.suspect(unique, handle)) return undefined;
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

  started(record: StartRecord): RunRef {
    return this.start(record.handle, record.unique, record.function, record.workerId, record.server, record.startedAt, record.payloadBytes);
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

  ended(ref: RunRef, status: Exclude<JournalStatus, 'running'>, endedAt: number, durationMs: number, detail: { error?: string; resultBytes?: number }): void {
    this.end(ref, status, endedAt, durationMs, detail.error, detail.resultBytes);
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

/** What the reading verbs (`jobs list/show/clear`) use. */
export class JournalReader {
  readonly db: Database.Database;

  constructor(file: string, options: { write?: boolean } = {}) {
    this.db = openJournalDatabase(path.resolve(file), { mustExist: true, readonly: options.write !== true });
  }

  list(filter: { status?: JournalStatus; function?: string; since?: number; limit?: number }): JournalRow[] {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (filter.status) {
      where.push('status = @status');
      params.status = filter.status;
    }
    if (filter.function) {
      where.push('function = @function');
      params.function = filter.function;
    }
    if (filter.since !== undefined) {
      where.push('started_at >= @since');
      params.since = filter.since;
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${filter.limit !== undefined ? `DESC LIMIT ${Math.floor(filter.limit)}` : 'ASC'}`;
    const rows = this.db.prepare(sql).all(params) as JournalRow[];
    return filter.limit !== undefined ? rows.reverse() : rows;
  }

  /** By row id, else every run of a handle or unique key. */
  show(key: string): JournalRow[] {
    if (/^\d+$/.test(key)) {
      const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(Number(key)) as JournalRow | undefined;
      if (row) return [row];
    }
    return this.db.prepare('SELECT * FROM jobs WHERE handle = ? OR unique_key = ? ORDER BY id').all(key, key) as JournalRow[];
  }

  /** Rows `clear` would delete and the running ones it keeps. */
  countClearable(before: number | undefined): { clearable: number; running: number } {
    const cutoff = before ?? Number.MAX_SAFE_INTEGER;
    const clearable = this.db.prepare("SELECT count(*) AS n FROM jobs WHERE status != 'running' AND started_at < ?").get(cutoff) as { n: number };
    const running = this.db.prepare("SELECT count(*) AS n FROM jobs WHERE status = 'running' AND started_at < ?").get(cutoff) as { n: number };
    return { clearable: clearable.n, running: running.n };
  }

  /** Delete ended runs started before `before` (all ended runs without it); running rows stay. */
  clear(before: number | undefined): number {
    const cutoff = before ?? Number.MAX_SAFE_INTEGER;
    // In batches, each its own transaction: one DELETE of 600,000 rows held the write lock for seconds.
    const batch = this.db.prepare(`DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status != 'running' AND started_at < ? LIMIT ${CLEAR_BATCH_ROWS})`);
    let deleted = 0;
    for (;;) {
      const changes = batch.run(cutoff).changes;
      deleted += changes;
      if (changes < CLEAR_BATCH_ROWS) return deleted;
    }
  }

  close(): void {
    this.db.close();
  }
}
