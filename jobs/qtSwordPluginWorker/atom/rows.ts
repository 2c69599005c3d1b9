// Multi-row INSERTs for a whole DIP, with the ids AtoM's one-row-at-a-time saves would have got:
// an INSERT of n rows takes n consecutive AUTO_INCREMENT values unless InnoDB interleaves them
// (innodb_autoinc_lock_mode 2), so there it falls back to one row per statement.
import type { AtomSql, SqlResultHeader, SqlValue } from '../../../src/types.js';

/** Rows per statement: well under max_allowed_packet for AtoM's short columns. */
const ROWS_PER_STATEMENT = 500;

export class RowInserter {
  private constructor(
    private readonly sql: AtomSql,
    private readonly consecutive: boolean,
  ) {}

  static async open(sql: AtomSql): Promise<RowInserter> {
    // A step other than 1 (Galera, multi-source replication) spaces the ids: one row per statement then too.
    const [vars] = await sql.query<{ mode: number | string | null; step: number | string | null }>('SELECT @@innodb_autoinc_lock_mode AS mode, @@auto_increment_increment AS step');
    return new RowInserter(sql, Number(vars?.mode ?? 1) !== 2 && Number(vars?.step ?? 1) === 1);
  }

  /** Insert rows; resolves with the AUTO_INCREMENT id each got, in order (tables with one). */
  async insert(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Promise<number[]> {
    const ids: number[] = [];
    const head = `INSERT INTO ${table} (${columns.join(', ')}) VALUES `;
    const tuple = `(${columns.map(() => '?').join(', ')})`;
    const step = this.consecutive ? ROWS_PER_STATEMENT : 1;
    for (let start = 0; start < rows.length; start += step) {
      const batch = rows.slice(start, start + step);
      const values: SqlValue[] = [];
      for (const row of batch) for (const value of row) values.push(value);
      const [header] = (await this.sql.query(head + batch.map(() => tuple).join(', '), values)) as unknown as SqlResultHeader[];
      const first = header?.insertId ?? 0;
      for (let i = 0; i < batch.length; i += 1) ids.push(first === 0 ? 0 : first + i);
    }
    return ids;
  }
}

/** Rows for several tables, written in the order the tables were first used: parents before children. */
export class TableBuffer {
  private readonly tables = new Map<string, { columns: readonly string[]; rows: SqlValue[][] }>();

  constructor(private readonly inserter: RowInserter) {}

  add(table: string, columns: readonly string[], row: SqlValue[]): void {
    let entry = this.tables.get(table);
    if (entry === undefined) this.tables.set(table, (entry = { columns, rows: [] }));
    entry.rows.push(row);
  }

  async flush(): Promise<void> {
    for (const [table, entry] of this.tables) {
      if (entry.rows.length === 0) continue;
      const rows = entry.rows;
      entry.rows = [];
      await this.inserter.insert(table, entry.columns, rows);
    }
  }
}
