// The other processes' rows that make a job start a possible re-delivery, kept in memory so that the
// writer's re-delivery lookup does not query SQLite for every job: a start can only be a re-delivery
// if the journal's last row for its unique key (or handle) is `running` or `abandoned`. Loaded at
// open and reloaded by one indexed query at a job start when the copy is older than the refresh
// interval and another process has committed since (PRAGMA data_version).
import type Database from 'better-sqlite3';
import type { JournalStatus } from './schema.js';

/** Rows of other processes that make a job start a possible re-delivery. */
interface SuspectRow {
  unique_key: string;
  handle: string;
  status: JournalStatus;
  pid: number;
  host: string;
  started_at: number;
}

export class RedeliverySuspects {
  /** Other processes' running rows (rebuilt on each reload) and abandoned rows (accumulated). */
  private runningUniques = new Set<string>();
  private runningHandles = new Set<string>();
  private readonly abandonedUniques = new Set<string>();
  private readonly abandonedHandles = new Set<string>();
  private loadedAt = -Infinity;
  private dataVersion = -1;
  /** Abandoned rows started before this are already known (see reload). */
  private abandonedSince = 0;
  private readonly suspects: Database.Statement;
  private readonly dataVersionOf: Database.Statement;

  /** `host` and `pid` are this process's: its own rows are skipped (the writer knows them exactly from memory). */
  constructor(
    db: Database.Database,
    private readonly host: string,
    private readonly pid: number,
    private readonly refreshMs: number,
  ) {
    // Both halves use jobs_by_status (status, started_at).
    this.suspects = db.prepare(
      "SELECT unique_key, handle, status, pid, host, started_at FROM jobs WHERE status = 'running' UNION ALL SELECT unique_key, handle, status, pid, host, started_at FROM jobs WHERE status = 'abandoned' AND started_at >= ?",
    );
    this.dataVersionOf = db.prepare('PRAGMA data_version').pluck();
    this.reload(Date.now());
  }

  /** Whether another process's row makes this start a possible re-delivery; reloads a stale copy first. */
  has(unique: string, handle: string, now: number): boolean {
    if (now - this.loadedAt >= this.refreshMs || now < this.loadedAt) this.reload(now);
    return unique !== '' ? this.runningUniques.has(unique) || this.abandonedUniques.has(unique) : this.runningHandles.has(handle) || this.abandonedHandles.has(handle);
  }

  /**
   * Reload the other processes' running rows (all of them: the jobs in flight on this machine, and
   * the ones left by dead workers) and add the abandoned rows not seen yet. A row turns abandoned
   * from running (then it was running at the last reload, or inserted since), so abandoned rows
   * started before both the oldest running row of the last reload and a minute before it are known.
   */
  private reload(now: number): void {
    const version = this.dataVersionOf.get() as number;
    this.loadedAt = now;
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
}
