// What the reading verbs (`jobs list/show/clear`, `follow`) do with the journal: read-only queries,
// and the one write a person asks for, deleting ended runs in batches while workers keep writing.
import path from 'node:path';
import type Database from 'better-sqlite3';
import { openJournalDatabase } from './database.js';
import type { JournalRow, JournalStatus } from './schema.js';

/** `jobs clear` deletes this many rows per transaction, so running workers' writes get in between. */
const CLEAR_BATCH_ROWS = 2000;

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
