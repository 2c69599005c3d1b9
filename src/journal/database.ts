// Opening the journal file: the one place that sets its modes, pragmas and schema, for the worker's
// writer, the reading verbs, `check` and AtoM's outbox (a table in the same file). Several workers on
// one machine share the file: WAL lets readers and one writer work at once, busy_timeout waits out
// the other writers' short transactions.
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SCHEMA, SCHEMA_VERSION } from './schema.js';

const BUSY_TIMEOUT_MS = 5000;

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

/** How many runs the journal holds (`check`); opens, so creates and migrates, the file as the worker does. */
export function countJournalJobs(file: string): number {
  const db = openJournalDatabase(file);
  const row = db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number };
  db.close();
  return row.n;
}
