// The journal's one table, as SQL and as the row type the reading verbs get back: one row per run of
// a job (times in ms since the epoch). No SQLite here, so the types cost nothing to import.

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

export const SCHEMA_VERSION = 1;

export const SCHEMA = `
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
