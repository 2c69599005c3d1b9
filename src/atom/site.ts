// AtoM's site as a job sees it (ctx.atomSite): its database, for jobs that write what AtoM's PHP
// would, and QubitJob::runJob, for jobs that hand work on to AtoM's own workers (the search
// index after a DIP ingest). The pool and the Gearman client open on first use.
import type { ServerAddress } from '../gearman/address.js';
import { serverStatus } from '../gearman/admin.js';
import { GearmanClient } from '../gearman/client.js';
import type { AtomSite, AtomSql, SqlValue } from '../types.js';
import { type AtomDatabaseSettings, openAtomDatabase } from './database.js';
import { phpJsonEncode } from './jobLine.js';
import { JOB_STATUS_IN_PROGRESS } from './jobRows.js';

export interface AtomSiteOptions {
  readonly database: AtomDatabaseSettings;
  /** Connections in the jobs' pool: one per job that may run at once. */
  readonly connections: number;
  readonly servers: readonly ServerAddress[];
  /** AtoM's job-name prefix (QubitJob::getJobPrefix), put before every submitted job's name. */
  readonly prefix: string;
}

export interface AtomSiteService extends AtomSite {
  close(): Promise<void>;
}

const ADMIN_TIMEOUT_MS = 5000;

export function openAtomSite(options: AtomSiteOptions): AtomSiteService {
  let pool: ReturnType<typeof openAtomDatabase> | undefined;
  let client: GearmanClient | undefined;
  const db = (): ReturnType<typeof openAtomDatabase> => (pool ??= openAtomDatabase(options.database, options.connections));
  const database: AtomSite['database'] = {
    query: <T>(sql: string, values?: readonly SqlValue[]) => db().query<T>(sql, values),
    transaction: <T>(work: (sql: AtomSql) => Promise<T>, transactionOptions?: { readonly statementTimeoutMs?: number }) => db().transaction<T>(work, transactionOptions?.statementTimeoutMs),
  };
  return {
    database,
    async runJob(name, parameters, runOptions = {}) {
      const fn = options.prefix + name;
      if (!(await workerAvailable(options.servers, fn))) {
        throw new Error(`No Gearman worker available that can handle the job ${name} (function ${fn} on ${options.servers.length === 1 ? 'the job server' : 'any job server'})`);
      }
      const jobName = typeof parameters.name === 'string' ? parameters.name : name;
      const objectId = runOptions.objectId ?? (typeof parameters.objectId === 'number' ? parameters.objectId : null);
      const jobId = await database.transaction(async (sql) => {
        const [object] = await sql.query<{ insertId: number }>("INSERT INTO object (class_name, created_at, updated_at) VALUES ('QubitJob', NOW(), NOW())");
        const id = object!.insertId;
        await sql.query('INSERT INTO job (id, name, status_id, user_id, object_id) VALUES (?, ?, ?, ?, ?)', [id, jobName, JOB_STATUS_IN_PROGRESS, runOptions.userId ?? null, objectId]);
        return id;
      });
      try {
        client ??= new GearmanClient(options.servers);
        // As AtoM's client sends it: PHP's json_encode (escaped slashes and non-ASCII).
        await client.submitBackground(fn, phpJsonEncode({ ...parameters, name: jobName, id: jobId }));
      } catch (error) {
        // Nobody will ever run it: take the row back rather than leave it "in progress" for ever.
        await database.query('DELETE FROM object WHERE id = ?', [jobId]).catch(() => undefined);
        throw error;
      }
      return jobId;
    },
    async close() {
      client?.close();
      await pool?.close();
    },
  };
}

/** QubitJob::checkWorkerAvailable: some server reports a worker for the function. */
async function workerAvailable(servers: readonly ServerAddress[], fn: string): Promise<boolean> {
  const answers = await Promise.allSettled(servers.map((address) => serverStatus(address, ADMIN_TIMEOUT_MS)));
  return answers.some((answer) => answer.status === 'fulfilled' && answer.value.some((status) => status.function === fn && status.availableWorkers > 0));
}
