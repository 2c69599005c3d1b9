// The public, typed surface a job module sees. Nothing here knows the Gearman wire format.
import type { Logger } from 'pino';
import type { ZodType } from 'zod';

/** Identity of the job being run, as the job server gave it. */
export interface JobInfo {
  /** Job handle assigned by gearmand, e.g. `H:host:42`. Empty when run locally with `atom-worker exec`. */
  readonly handle: string;
  /** The client's unique key (AtoM leaves it empty; gearmand then makes one up). */
  readonly unique: string;
  /** The function name as registered on the server, prefix included. */
  readonly function: string;
  /** The job's own name, without the AtoM prefix. */
  readonly name: string;
}

/** AtoM's `job` row for this job: present when the payload carries AtoM's job `id` and the database is configured. */
export interface AtomJobContext {
  /** The row's id (the payload's `id`). */
  readonly jobId: number;
  /** Set `job.download_path`, the file AtoM's "Manage jobs" page links to (exports). */
  setDownloadPath(path: string): void;
}

/** A value a statement on AtoM's database takes. */
export type SqlValue = string | number | null;

/** Statements on AtoM's database, parameterised (`?`). Rows for a SELECT, else one result header. */
export interface AtomSql {
  query<T = Record<string, unknown>>(sql: string, values?: readonly SqlValue[]): Promise<T[]>;
}

/** An INSERT/UPDATE/DELETE's answer, as `query` resolves it: `[header]`. */
export interface SqlResultHeader {
  readonly insertId: number;
  readonly affectedRows: number;
}

/** AtoM's site, for jobs that write what AtoM's PHP would: present when AtoM's database is configured. */
export interface AtomSite {
  /** Single statements, each on a pooled connection. */
  readonly database: AtomSql & {
    /** `work` on one connection in one transaction: committed when it resolves, rolled back when it throws. */
    transaction<T>(work: (sql: AtomSql) => Promise<T>, options?: { readonly statementTimeoutMs?: number }): Promise<T>;
  };
  /**
   * What AtoM's QubitJob::runJob does: a `job` row (in progress) for `name`, then a background job
   * for AtoM's workers with the parameters, `id` and `name`. Resolves with the row's id. Rejects,
   * with no row left, when no worker serves the job, as AtoM refuses to queue it then.
   */
  runJob(name: string, parameters: Readonly<Record<string, unknown>>, options?: { userId?: number | null; objectId?: number | null }): Promise<number>;
}

/** What a handler gets besides its payload. */
export interface JobContext {
  /** A pino child logger carrying `function`, `handle` and `unique`. */
  readonly log: Logger;
  /** Report progress (`numerator` of `denominator`); sent as WORK_STATUS. */
  progress(numerator: number, denominator: number): void;
  /** Stream a chunk of intermediate data to the client; sent as WORK_DATA. */
  data(chunk: string | Uint8Array): void;
  /** Send a warning to the client; sent as WORK_WARNING. */
  warning(message: string): void;
  /** Aborted when the job times out or the worker must stop now. Long handlers should honour it. */
  readonly signal: AbortSignal;
  readonly job: JobInfo;
  /**
   * The merged `atom_worker:` section of the configuration, as loaded. Jobs read their own settings
   * from it (e.g. `sword_deposit_dir`) and should validate what they read.
   */
  readonly settings: Readonly<Record<string, unknown>>;
  /** AtoM's job row, when there is one (see AtomJobContext). `ctx.log` lines at info and above also go into it. */
  readonly atom?: AtomJobContext | undefined;
  /** AtoM's database and job queue (see AtomSite), when AtoM's database is configured. */
  readonly atomSite?: AtomSite | undefined;
}

/** What a job's `start` hook gets. */
export interface JobStartContext {
  readonly log: Logger;
  /** The merged `atom_worker:` section, as `ctx.settings` in `run`. */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** `'raw'` hands the handler the payload bytes as a Buffer, unparsed. */
export type PayloadSpec<P> = ZodType<P> | 'raw';

/** A job module's default export. */
export interface JobDefinition<P = unknown, R = unknown> {
  /** The job's name (AtoM's job class name, e.g. `arFindingAidJob`). Defaults to the module's file name. */
  name?: string;
  /** How to read the payload: a zod schema to validate the JSON against, `'raw'`, or absent for plain JSON. */
  payload?: PayloadSpec<P>;
  /** Per-job time limit in milliseconds; at the limit `ctx.signal` aborts and the job fails. */
  timeout?: number;
  /**
   * The handler. Its result goes back to the client: a string or Buffer as it is, `undefined` as an
   * empty result, anything else as JSON. Throwing (or rejecting) fails the job with the message.
   */
  run(payload: P, ctx: JobContext): R | Promise<R>;
  /**
   * Runs once when `atom-worker run` starts, before it takes jobs: e.g. to clean up after a run
   * that was killed. A throw or rejection is logged; the worker starts anyway.
   */
  start?(ctx: JobStartContext): void | Promise<void>;
}

/** Any job definition, whatever its payload and result types (startWorker's `jobs`). */
export type AnyJobDefinition = Omit<JobDefinition<never, unknown>, 'payload'> & { payload?: PayloadSpec<unknown> };

/** A job that takes its payload as bytes (`payload: 'raw'`): the handler gets a Buffer. */
export type RawJobDefinition<R = unknown> = JobDefinition<Buffer, R> & { payload: 'raw' };

/**
 * Identity helper that gives a job module full typing of its payload and context: the zod
 * schema's output type, a Buffer for `payload: 'raw'`, `unknown` (parsed JSON) without either.
 */
export function defineJob<R = unknown>(definition: RawJobDefinition<R>): RawJobDefinition<R>;
export function defineJob<P = unknown, R = unknown>(definition: JobDefinition<P, R>): JobDefinition<P, R>;
export function defineJob<P, R>(definition: JobDefinition<P, R>): JobDefinition<P, R> {
  return definition;
}
