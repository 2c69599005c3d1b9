// AtoM row changes, applied in order by one sender, never by the event loop waiting on MySQL. A
// change is stored in the journal (OutboxStore) within the turn it is made and removed once the
// database has applied it; while the database is down or paused, changes wait and are retried
// with a short backoff, so a row is right within seconds of the database's return. Bounded: past
// `maxBacklog`, log lines are dropped (counted and reported), a job's end never is.
import type { Logger } from 'pino';
import { type AtomDatabase, describeDatabaseError, isTransientDatabaseError } from './database.js';
import { applyJobRowChange, type JobRowChange } from './jobRows.js';
import type { OutboxStore } from './outboxStore.js';

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;
const REPORT_INTERVAL_MS = 30_000;

interface Pending {
  readonly change: JobRowChange;
  /** Its row in the journal, once stored. */
  storedId?: number;
  done?: boolean;
}

export interface OutboxOptions {
  readonly db: AtomDatabase;
  readonly log: Logger;
  /** Absent (no journal): changes wait in memory only, and a restart while the database is away loses them. */
  readonly store?: OutboxStore | undefined;
  readonly maxBacklog?: number;
}

export class AtomOutbox {
  private readonly queue: Pending[] = [];
  private unstored: Pending[] = [];
  private removable: number[] = [];
  private housekeepingScheduled = false;
  private sending = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_MIN_MS;
  private reachable: boolean | undefined;
  private readonly lastReportAt = new Map<string, number>();
  private droppedLines = 0;
  private emptyWaiters: Array<() => void> = [];
  private closed = false;
  private readonly maxBacklog: number;

  constructor(private readonly options: OutboxOptions) {
    this.maxBacklog = options.maxBacklog ?? 100_000;
    for (const stored of options.store?.adoptOrphans() ?? []) this.queue.push({ change: stored.change, storedId: stored.id });
    if (this.queue.length > 0) options.log.info({ atom_backlog: this.queue.length }, 'AtoM job row updates left by a stopped worker: replaying them');
    this.send();
  }

  /** Changes not yet applied to AtoM's database. */
  get backlog(): number {
    return this.queue.length;
  }

  /** Whether the last statement reached the database (undefined before the first). */
  get databaseReachable(): boolean | undefined {
    return this.reachable;
  }

  enqueue(change: JobRowChange): void {
    if (this.closed) return;
    if (change.kind === 'line' && this.queue.length >= this.maxBacklog) {
      this.droppedLines++;
      this.report('warn', { atom_backlog: this.queue.length, dropped_lines: this.droppedLines }, `AtoM job row backlog is full (${this.maxBacklog}): log lines are dropped until it drains; job ends are kept`);
      return;
    }
    const pending: Pending = { change };
    this.queue.push(pending);
    if (this.options.store) {
      this.unstored.push(pending);
      this.scheduleHousekeeping();
    }
    this.send();
  }

  /** Resolves when the backlog is empty or `timeoutMs` has passed; returns what is still waiting. */
  async settle(timeoutMs: number): Promise<{ waiting: number; unstored: number }> {
    if (this.queue.length > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.emptyWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.housekeep();
    return { waiting: this.queue.length, unstored: this.options.store ? this.unstored.length : this.queue.length };
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.housekeep();
  }

  private send(): void {
    if (this.sending || this.retryTimer || this.closed || this.queue.length === 0) return;
    this.sending = true;
    const head = this.queue[0]!;
    applyJobRowChange(this.options.db, head.change).then(
      (found) => {
        this.sending = false;
        if (this.reachable === false) this.options.log.info({ atom_backlog: this.queue.length }, 'AtoM database reachable again: replaying the job row updates that waited');
        this.reachable = true;
        this.retryMs = RETRY_MIN_MS;
        if (!found) this.options.log.warn({ atom_job_id: head.change.jobId, change: head.change.kind }, 'AtoM job row not found (deleted meanwhile?): its update was dropped');
        this.finish(head);
        this.send();
      },
      (error: unknown) => {
        this.sending = false;
        if (isTransientDatabaseError(error)) {
          this.reachable = false;
          this.report('warn', { err: describeDatabaseError(error), atom_backlog: this.queue.length }, 'AtoM database unreachable: job row updates wait in the journal and are retried');
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.send();
          }, this.retryMs);
          this.retryTimer.unref();
          this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
          return;
        }
        // A statement the database refuses will be refused again: it must not hold up the rest.
        this.options.log.error({ err: describeDatabaseError(error), atom_job_id: head.change.jobId, change: head.change.kind }, 'AtoM database refused a job row update: dropped');
        this.finish(head);
        this.send();
      },
    );
  }

  private finish(pending: Pending): void {
    this.queue.shift();
    pending.done = true;
    if (pending.storedId !== undefined) {
      this.removable.push(pending.storedId);
      this.scheduleHousekeeping();
    }
    if (this.queue.length === 0) for (const resolve of this.emptyWaiters.splice(0)) resolve();
  }

  private scheduleHousekeeping(): void {
    if (this.housekeepingScheduled) return;
    this.housekeepingScheduled = true;
    setImmediate(() => {
      this.housekeepingScheduled = false;
      this.housekeep();
    });
  }

  /** Store new changes and remove applied ones in the journal; a locked journal is retried later. */
  private housekeep(): void {
    const store = this.options.store;
    if (!store) return;
    try {
      const fresh = this.unstored.filter((pending) => !pending.done);
      if (fresh.length > 0) {
        const ids = store.store(fresh.map((pending) => pending.change));
        fresh.forEach((pending, index) => (pending.storedId = ids[index]));
      }
      this.unstored = [];
      if (this.removable.length > 0) {
        store.remove(this.removable);
        this.removable = [];
      }
    } catch (error) {
      this.report('error', { err: (error as Error).message }, 'cannot store AtoM job row updates in the journal: they wait in memory and are stored when it can be written');
      if (!this.closed) setTimeout(() => this.scheduleHousekeeping(), 1000).unref();
    }
  }

  private report(level: 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now - (this.lastReportAt.get(message) ?? 0) < REPORT_INTERVAL_MS) return;
    this.lastReportAt.set(message, now);
    this.options.log[level](fields, message);
  }
}
