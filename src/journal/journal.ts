// The job journal: one SQLite row per run of a job (better-sqlite3, WAL). The worker's writes are
// queued in memory and flushed in one transaction every FLUSH_INTERVAL_MS (and on close), so the hot
// path only pays for one indexed SELECT per job start (the re-delivery lookup). Several workers on
// one machine share the file: WAL lets readers and one writer work at once, busy_timeout waits out
// the other writers' short transactions.
import { mkdirSync } from 'node:fs';
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

export const FLUSH_INTERVAL_MS = 50;
const BUSY_TIMEOUT_MS = 5000;

export interface OpenOptions {
  readonly readonly?: boolean;
  /** Fail instead of creating a missing file (the reading verbs). */
  readonly mustExist?: boolean;
}

/** Open (and create, migrate) a journal database. */
export function openJournalDatabase(file: string, options: OpenOptions = {}): Database.Database {
  if (!options.mustExist) mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, { fileMustExist: options.mustExist === true, readonly: options.readonly === true, timeout: BUSY_TIMEOUT_MS });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
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

/** A run being written: its row (once inserted), its current values, and whether it changed since the last flush. */
interface PendingRun {
  rowId: number | undefined;
  values: Mutable<Omit<JournalRow, 'id'>>;
  dirty: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

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

export interface JournalWriterOptions {
  readonly file: string;
  readonly flushIntervalMs?: number;
  readonly onError?: (error: Error) => void;
}

/** The worker's side: queue writes, flush them in batches, answer the re-delivery lookup synchronously. */
export class JournalWriter {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly pending = new Map<RunRef, PendingRun>();
  /** Runs of this process not yet final, by unique key and by handle, for lookups before a flush. */
  private readonly live = new Map<string, PendingRun>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly flushIntervalMs: number;
  private readonly host = hostname();
  private readonly insert: Database.Statement;
  private readonly update: Database.Statement;
  private readonly byUnique: Database.Statement;
  private readonly byHandle: Database.Statement;
  private readonly flushAll: () => void;
  private readonly abandon: Database.Statement;

  constructor(private readonly options: JournalWriterOptions) {
    this.file = path.resolve(options.file);
    this.flushIntervalMs = options.flushIntervalMs ?? FLUSH_INTERVAL_MS;
    this.db = openJournalDatabase(this.file);
    const columns: Array<keyof PendingRun['values']> = [
      'handle', 'unique_key', 'function', 'worker_id', 'host', 'pid', 'server', 'attempt', 'status', 'started_at', 'ended_at',
      'duration_ms', 'progress_numerator', 'progress_denominator', 'error', 'payload_bytes', 'result_bytes',
    ];
    // Positional parameters: binding by name costs more per row.
    this.insert = this.db.prepare(`INSERT INTO jobs (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
    this.update = this.db.prepare(
      `UPDATE jobs SET status = ?, ended_at = ?, duration_ms = ?, progress_numerator = ?, progress_denominator = ?, error = ?, result_bytes = ? WHERE id = ?`,
    );
    this.byUnique = this.db.prepare('SELECT id, attempt, pid, host, status FROM jobs WHERE unique_key = ? ORDER BY id DESC LIMIT 1');
    this.abandon = this.db.prepare("UPDATE jobs SET status = 'abandoned', error = ? WHERE id = ? AND status = 'running'");
    this.byHandle = this.db.prepare("SELECT id, attempt, pid, host, status FROM jobs WHERE handle = ? AND unique_key = '' ORDER BY id DESC LIMIT 1");
    const write = this.db.transaction((runs: PendingRun[]): number[] =>
      runs.map((run) => {
        const v = run.values;
        if (run.rowId === undefined) return Number(this.insert.run(columns.map((column) => v[column])).lastInsertRowid);
        this.update.run(v.status, v.ended_at, v.duration_ms, v.progress_numerator, v.progress_denominator, v.error, v.result_bytes, run.rowId);
        return run.rowId;
      }),
    );
    this.flushAll = () => {
      const dirty = [...this.pending].filter(([, run]) => run.dirty);
      if (dirty.length === 0) return;
      // Only once the transaction has committed does the in-memory state move on (a failed one rolls back whole).
      const rowIds = write(dirty.map(([, run]) => run));
      dirty.forEach(([ref, run], index) => {
        run.rowId = rowIds[index];
        run.dirty = false;
        if (run.values.status !== 'running') this.pending.delete(ref);
      });
    };
  }

  private liveKey(unique: string, handle: string): string {
    return unique !== '' ? `u:${unique}` : `h:${handle}`;
  }

  /**
   * The last run of the same job (matched on the unique key, which gearmand keeps across requeues; on
   * the handle when the unique is empty), if it did not end: then this run is a re-delivery.
   */
  private previousRun(unique: string, handle: string): PreviousRun | undefined {
    const mine = this.live.get(this.liveKey(unique, handle));
    if (mine) {
      if (mine.values.status === 'abandoned' || mine.values.status === 'running') {
        return { attempt: mine.values.attempt, pid: process.pid, host: this.host, status: mine.values.status, processGone: false };
      }
      return undefined;
    }
    const row = (unique !== '' ? this.byUnique.get(unique) : this.byHandle.get(handle)) as
      | { id: number; attempt: number; pid: number; host: string; status: JournalStatus }
      | undefined;
    if (!row || (row.status !== 'running' && row.status !== 'abandoned')) return undefined;
    // This process's own runs are known from memory: a row of ours not there has ended (flush pending).
    if (row.host === this.host && row.pid === process.pid) return undefined;
    const processGone = row.status === 'running' && row.host === this.host && row.pid !== process.pid && !processAlive(row.pid);
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

  /** Record a job start; synchronous (one indexed SELECT), the INSERT is queued. */
  started(record: StartRecord): RunRef {
    const previous = this.previousRun(record.unique, record.handle);
    const attempt = previous ? previous.attempt + 1 : 1;
    const ref: RunRef = { attempt, previous };
    const run: PendingRun = {
      rowId: undefined,
      dirty: true,
      values: {
        handle: record.handle,
        unique_key: record.unique,
        function: record.function,
        worker_id: record.workerId,
        host: this.host,
        pid: process.pid,
        server: record.server,
        attempt,
        status: 'running',
        started_at: record.startedAt,
        ended_at: null,
        duration_ms: null,
        progress_numerator: null,
        progress_denominator: null,
        error: null,
        payload_bytes: record.payloadBytes,
        result_bytes: null,
      },
    };
    this.pending.set(ref, run);
    this.live.set(this.liveKey(record.unique, record.handle), run);
    this.schedule();
    return ref;
  }

  progress(ref: RunRef, numerator: number, denominator: number): void {
    const run = this.pending.get(ref);
    if (!run) return;
    run.values.progress_numerator = numerator;
    run.values.progress_denominator = denominator;
    run.dirty = true;
    this.schedule();
  }

  ended(ref: RunRef, status: Exclude<JournalStatus, 'running'>, endedAt: number, durationMs: number, detail: { error?: string; resultBytes?: number }): void {
    const run = this.pending.get(ref);
    if (!run) return;
    run.values.status = status;
    run.values.ended_at = endedAt;
    run.values.duration_ms = durationMs;
    run.values.error = detail.error ?? null;
    run.values.result_bytes = detail.resultBytes ?? null;
    run.dirty = true;
    const key = this.liveKey(run.values.unique_key, run.values.handle);
    // An abandoned run stays known here: gearmand re-delivers it, maybe to this very process.
    if (status !== 'abandoned' && this.live.get(key) === run) this.live.delete(key);
    if (this.live.size > 10_000) this.live.clear();
    this.schedule();
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
    try {
      this.flushAll();
    } catch (error) {
      // A locked or broken journal must not stop the worker; keep the rows queued for the next flush.
      this.options.onError?.(error as Error);
      this.schedule();
    }
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
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
    return this.db.prepare("DELETE FROM jobs WHERE status != 'running' AND started_at < ?").run(cutoff).changes;
  }

  close(): void {
    this.db.close();
  }
}
