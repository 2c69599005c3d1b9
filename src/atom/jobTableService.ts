// Everything `run` needs to keep AtoM's job rows: the pool, the outbox (stored in the journal when
// there is one), the observer, a start-up probe that only logs, and a bounded shutdown.
import type { Logger } from 'pino';
import type { WorkerObserver } from '../runtime/events.js';
import { type AtomDatabase, type AtomDatabaseSettings, describeDatabaseError, openAtomDatabase } from './database.js';
import { describeDatabase } from './databaseSettings.js';
import { jobTableObserver } from './jobTable.js';
import { AtomOutbox } from './outbox.js';
import { OutboxStore } from './outboxStore.js';
import { openAtomSite } from './site.js';
import type { ServerAddress } from '../gearman/address.js';

/** At shutdown, how long waiting row updates get to reach the database. */
const SETTLE_MS = 5000;

export interface JobTableService {
  readonly observer: WorkerObserver;
  /** Row updates not yet applied. */
  backlog(): number;
  /** Give waiting updates a few seconds, then close. `lost`: updates neither applied nor stored. */
  stop(): Promise<{ waiting: number; lost: number }>;
}

export interface JobTableServiceOptions {
  readonly database: AtomDatabaseSettings;
  readonly log: Logger;
  readonly concurrency: number;
  readonly journalPath?: string | undefined;
  readonly culture: string;
  /** For ctx.atomSite.runJob: where AtoM's jobs are submitted, and AtoM's job-name prefix. */
  readonly servers: readonly ServerAddress[];
  readonly prefix: string;
}

export function startJobTableService(options: JobTableServiceOptions): JobTableService {
  const log = options.log.child({ atom_database: describeDatabase(options.database) });
  // One connection per slot for the row checks, one for the outbox's sender.
  const db: AtomDatabase = openAtomDatabase(options.database, options.concurrency + 1);
  const store = options.journalPath !== undefined ? new OutboxStore(options.journalPath) : undefined;
  if (!store) log.warn('no journal: AtoM job row updates wait in memory only while the database is away, and a restart then loses them');
  const outbox = new AtomOutbox({ db, log, store });
  db.query<{ version: string }>('SELECT VERSION() AS version').then(
    ([row]) => log.info({ server_version: row?.version }, 'AtoM database reachable: job rows are kept as AtoM keeps them'),
    (error: unknown) => log.warn({ err: describeDatabaseError(error) }, 'AtoM database not reachable at start: jobs run, and their row updates wait until it is'),
  );
  // Jobs get a pool of their own: a long ingest transaction must not take the row updates' connections.
  const site = openAtomSite({ database: options.database, connections: options.concurrency, servers: options.servers, prefix: options.prefix });
  const rows = jobTableObserver({ db, outbox, log, culture: options.culture });
  return {
    observer: {
      ...rows,
      handlerContext: (event) => ({ ...rows.handlerContext?.(event), atomSite: site }),
    },
    backlog: () => outbox.backlog,
    async stop() {
      const { waiting, unstored } = await outbox.settle(SETTLE_MS);
      outbox.close();
      store?.close();
      await Promise.race([site.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      // A paused server would hold pool.end() forever.
      await Promise.race([db.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      if (waiting > 0 && unstored === 0) log.warn({ atom_backlog: waiting }, 'AtoM job row updates still waiting are kept in the journal: the next worker start replays them');
      return { waiting, lost: unstored };
    },
  };
}
