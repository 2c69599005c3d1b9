// Where AtoM row changes wait while the database is away: a table in the worker's SQLite journal,
// so they survive a restart. Several workers on a host share the journal; each owns its rows by
// pid, and a starting worker adopts the rows of workers on this host that are gone.
import os from 'node:os';
import type Database from 'better-sqlite3';
import { openJournalDatabase } from '../journal/database.js';
import { processAlive } from '../journal/processAlive.js';
import type { JobRowChange } from './jobRows.js';

// A write that finds the journal locked gives up at once and is retried (the journal's own rule).
const BUSY_TIMEOUT_MS = 5;

export interface StoredChange {
  readonly id: number;
  readonly change: JobRowChange;
}

export class OutboxStore {
  private readonly db: Database.Database;
  private readonly host = os.hostname();
  private readonly insertRow: Database.Statement;
  private readonly deleteRow: Database.Statement;
  private readonly insertMany: (changes: readonly JobRowChange[]) => number[];
  private readonly deleteMany: (ids: readonly number[]) => void;

  constructor(file: string) {
    this.db = openJournalDatabase(file);
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.db.exec('CREATE TABLE IF NOT EXISTS atom_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT NOT NULL, pid INTEGER NOT NULL, change TEXT NOT NULL)');
    this.insertRow = this.db.prepare(`INSERT INTO atom_outbox (host, pid, change) VALUES (?, ${process.pid}, ?)`);
    this.deleteRow = this.db.prepare('DELETE FROM atom_outbox WHERE id = ?');
    this.insertMany = this.db.transaction((changes: readonly JobRowChange[]) => changes.map((change) => Number(this.insertRow.run(this.host, JSON.stringify(change)).lastInsertRowid)));
    this.deleteMany = this.db.transaction((ids: readonly number[]) => {
      for (const id of ids) this.deleteRow.run(id);
    });
  }

  /** Take over the changes of this host's workers that are no longer running, oldest first. */
  adoptOrphans(): StoredChange[] {
    const owners = this.db.prepare('SELECT DISTINCT pid FROM atom_outbox WHERE host = ?').pluck().all(this.host) as number[];
    const gone = owners.filter((pid) => pid !== process.pid && !processAlive(pid));
    if (gone.length === 0) return [];
    const adopt = this.db.prepare(`UPDATE atom_outbox SET pid = ${process.pid} WHERE host = ? AND pid = ?`);
    this.db.transaction(() => {
      for (const pid of gone) adopt.run(this.host, pid);
    })();
    const rows = this.db.prepare('SELECT id, change FROM atom_outbox WHERE host = ? AND pid = ? ORDER BY id').all(this.host, process.pid) as Array<{ id: number; change: string }>;
    return rows.map((row) => ({ id: row.id, change: JSON.parse(row.change) as JobRowChange }));
  }

  /** Store changes in one transaction; returns their ids. Throws when the journal is locked or unwritable. */
  store(changes: readonly JobRowChange[]): number[] {
    return this.insertMany(changes);
  }

  /** Forget applied changes. Throws when the journal is locked (the caller retries). */
  remove(ids: readonly number[]): void {
    this.deleteMany(ids);
  }

  close(): void {
    this.db.close();
  }
}
