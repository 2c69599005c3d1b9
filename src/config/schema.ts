// The zod schema of config/gearman.yml: AtoM's own keys plus atom-worker's `atom_worker:` section.
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

/** AtoM's `servers:` map (`name: "host[:port]"`); a list or `{host, port}` objects are accepted too. */
const serverEntry = z.union([z.string(), z.object({ host: z.string(), port: z.number().int().optional() }).strict()]);
export const serversSchema = z.union([z.record(z.string(), serverEntry), z.array(z.string())]);

/** A list written as a YAML sequence or as a comma-separated string. */
const stringList = z.union([z.array(z.string()), z.string()]);

/**
 * `atom_worker.atom_database`: how to reach AtoM's MySQL database, when not from AtoM's
 * config/config.php. Unknown keys are kept so that the settings can warn about them.
 */
export const atomDatabaseSchema = z
  .object({
    enabled: z.boolean(),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    socket: z.string().min(1),
    name: z.string().min(1),
    user: z.string().min(1),
    // A string only: YAML would read an unquoted 0123 as the number 123.
    password: z.string(),
    password_file: z.string().min(1),
  })
  .partial()
  .loose();

/** `atom_worker.retry.<job name>`: automatic retries of a background job that failed. */
export const retryPolicySchema = z
  .object({
    attempts: z.number().int().min(1).max(100),
    backoff_ms: nonNegativeInt.optional(),
    max_backoff_ms: nonNegativeInt.optional(),
    atom_jobs: z.boolean().optional(),
  })
  .strict();

export type AtomDatabaseSection = z.infer<typeof atomDatabaseSchema>;

export const atomWorkerSchema = z
  .object({
    jobs_dirs: stringList,
    concurrency: positiveInt,
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    log_file: z.string().min(1),
    log_format: z.enum(['json', 'pretty', 'auto']),
    job_prefix: z.string(),
    atom_root_dir: z.string().min(1),
    workers_key: z.union([z.string(), z.number()]).transform(String),
    types: stringList,
    abilities: stringList,
    client_id: z.string().min(1),
    job_timeout: positiveInt,
    shutdown_timeout: positiveInt,
    max_job_count: positiveInt,
    max_mem_usage: positiveInt,
    max_runtime: positiveInt,
    max_runtime_splay: nonNegativeInt,
    max_payload_bytes: positiveInt,
    failure_reply: z.enum(['fail', 'exception']),
    server_timeouts: z.boolean(),
    heartbeat_interval: nonNegativeInt,
    heartbeat_timeout: positiveInt,
    // Read by the DIP ingest job (jobs/qtSwordPluginWorker).
    sword_deposit_dir: z.string().min(1),
    dip_output_dir: z.string().min(1),
    strip_extensions: z.boolean(),
    dip_zip_max_bytes: positiveInt,
    dip_zip_max_entries: positiveInt,
    temp_dir: z.string().min(1),
    dip_output: z.enum(['csv', 'database']),
    dip_replace: z.boolean(),
    dip_keep_deposit: z.boolean(),
    // Operations (journal, metrics, control socket).
    journal_path: z.string().min(1),
    max_attempts: positiveInt,
    run_dir: z.string().min(1),
    metrics_port: z.number().int().min(0).max(65535),
    metrics_host: z.string().min(1),
    // AtoM's MySQL database (src/config/settings.ts resolves it).
    atom_database: atomDatabaseSchema,
    // Queue gauges, the dashboard, payloads and retries (src/config/opsSettings.ts resolves them).
    queue_metrics_interval: nonNegativeInt,
    journal_payloads: z.boolean(),
    journal_payload_max_bytes: positiveInt,
    journal_redact_keys: stringList,
    dashboard: z.boolean(),
    dashboard_actions: z.boolean(),
    dashboard_token: z.string().min(16),
    dashboard_token_file: z.string().min(1),
    retry: z.record(z.string(), retryPolicySchema),
  })
  .partial();

export type AtomWorkerSection = z.infer<typeof atomWorkerSchema>;

/** One section (`all`, `worker`, …) or the top level: all keys optional, unknown keys kept for a warning. */
export const sectionSchema = z
  .object({
    servers: serversSchema,
    gearman_job_server: z.string().min(1),
    worker_types: z.record(z.string(), z.union([z.array(z.string()), z.null()])),
    atom_worker: atomWorkerSchema,
  })
  .partial();

export type Section = z.infer<typeof sectionSchema>;

export const knownSectionKeys: ReadonlySet<string> = new Set(Object.keys(sectionSchema.shape));
export const knownAtomWorkerKeys: ReadonlySet<string> = new Set(Object.keys(atomWorkerSchema.shape));
export const knownAtomDatabaseKeys: ReadonlySet<string> = new Set(Object.keys(atomDatabaseSchema.shape));
