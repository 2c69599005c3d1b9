// Resolve the effective settings: CLI flags, then ATOM_WORKER_SERVERS, then the file, then defaults.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AtomDatabaseSettings } from '../atom/databaseSettings.js';
import { resolveAtomDatabase } from './atomDatabase.js';
import { parseAddress, parseAddressList, type ServerAddress } from '../gearman/address.js';
import { ConfigError } from './errors.js';
import { loadConfigFile, type LoadedConfig } from './load.js';
import { type OpsSettings, resolveOpsSettings } from './opsSettings.js';
import { atomJobPrefix } from './prefix.js';
import type { Section } from './schema.js';

export const DEFAULT_CONFIG_FILE = 'config/gearman.yml';
export const DEFAULT_ENV = 'worker';
export const SERVERS_ENV_VAR = 'ATOM_WORKER_SERVERS';

/** Options shared by the verbs that read the configuration; all optional, as commander leaves them. */
export interface ConfigFlags {
  config?: string;
  env?: string;
  servers?: string;
  jobs?: string[];
  concurrency?: number;
  logLevel?: string;
  logFile?: string;
  logFormat?: string;
  prefix?: string;
  types?: string;
  abilities?: string;
  clientId?: string;
  jobTimeout?: number;
  shutdownTimeout?: number;
  maxJobCount?: number;
  maxMemUsage?: number;
  maxRuntime?: number;
  maxRuntimeSplay?: number;
  maxPayloadBytes?: number;
  failureReply?: string;
  serverTimeouts?: boolean;
  heartbeatInterval?: number;
  heartbeatTimeout?: number;
  /** `--journal PATH`; commander's `--no-journal` sets it to false. */
  journal?: string | boolean;
  maxAttempts?: number;
  metricsPort?: number;
  metricsHost?: string;
  runDir?: string;
  /** commander's `--no-atom-database` sets it to false. */
  atomDatabase?: boolean;
}

export type LogFormat = 'json' | 'pretty' | 'auto';

export interface Settings extends OpsSettings {
  readonly configFile: string | undefined;
  readonly env: string;
  readonly servers: readonly ServerAddress[];
  /** Where each server came from, for messages. */
  readonly serversSource: string;
  readonly jobsDirs: readonly string[];
  /** Neither --jobs nor jobs_dirs chose the folders (the built-in jobs are then loaded, unless startWorker got jobs of its own). */
  readonly jobsDirsIsDefault: boolean;
  readonly concurrency: number;
  readonly logLevel: string;
  readonly logFile: string | undefined;
  readonly logFormat: LogFormat;
  readonly prefix: string;
  readonly workerTypes: Readonly<Record<string, readonly string[]>>;
  readonly types: readonly string[];
  readonly abilities: readonly string[];
  readonly clientId: string | undefined;
  readonly jobTimeoutMs: number | undefined;
  readonly shutdownTimeoutMs: number;
  readonly maxJobCount: number | undefined;
  readonly maxMemUsageKb: number | undefined;
  readonly maxRuntimeS: number | undefined;
  readonly maxRuntimeSplayS: number;
  readonly maxPayloadBytes: number;
  readonly failureReply: 'fail' | 'exception';
  /** Register timed jobs with CAN_DO_TIMEOUT (gearmand's own timer) as well; off by default: see docs/decisions.md. */
  readonly serverTimeouts: boolean;
  /** ECHO_REQ after this long without a packet from a server; undefined = no heartbeat (heartbeat_interval: 0). */
  readonly heartbeatIntervalMs: number | undefined;
  readonly heartbeatTimeoutMs: number;
  /** The merged `atom_worker:` section without `atom_database` and `dashboard_token` (no credentials), handed to jobs as `ctx.settings`. */
  readonly jobSettings: Readonly<Record<string, unknown>>;
  readonly warnings: readonly string[];
  /** The SQLite job journal (absolute), or undefined with --no-journal. */
  readonly journalPath: string | undefined;
  /** Neither a flag nor the file chose the journal: the verbs may then read an installed service's. */
  readonly journalPathIsDefault: boolean;
  /** Re-deliveries past this many attempts fail without running; undefined = no cap. */
  readonly maxAttempts: number | undefined;
  /** The Prometheus/health HTTP port; undefined = no HTTP server. */
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
  /** Where the control sockets live (absolute). */
  readonly runDir: string;
  /**
   * AtoM's MySQL database: `atom_worker.atom_database` when it has a `name`, else read from
   * `<atom_root_dir>/config/config.php`; undefined when off or not known (then a warning says so).
   */
  readonly atomDatabase?: AtomDatabaseSettings;
}

export const DEFAULT_JOURNAL_PATH = 'var/atom-worker-journal.sqlite';
export const DEFAULT_RUN_DIR = 'var/run';
export const DEFAULT_METRICS_HOST = '127.0.0.1';

export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
export const DEFAULT_SHUTDOWN_TIMEOUT_S = 60;
export const DEFAULT_HEARTBEAT_INTERVAL_S = 30;
export const DEFAULT_HEARTBEAT_TIMEOUT_S = 10;

/** The repo's own job modules, compiled by the build next to src/ in dist/. */
/** In `--jobs` / `jobs_dirs`: the built-in jobs, kept beside a folder of one's own. */
export const BUILTIN_JOBS = '@builtin';

export function builtinJobsDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'jobs');
}

function list(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const items = typeof value === 'string' ? value.split(',') : value;
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

function serversFromSection(file: string, section: Section): ServerAddress[] {
  const found: ServerAddress[] = [];
  if (section.gearman_job_server !== undefined) {
    try {
      found.push(...parseAddressList(section.gearman_job_server));
    } catch (error) {
      throw new ConfigError(file, 'gearman_job_server', (error as Error).message);
    }
  }
  const servers = section.servers;
  if (servers !== undefined) {
    const entries = Array.isArray(servers) ? servers.map((value, index) => [String(index), value] as const) : Object.entries(servers);
    for (const [name, value] of entries) {
      try {
        found.push(typeof value === 'string' ? parseAddress(value) : { host: value.host, port: value.port ?? 4730 });
      } catch (error) {
        throw new ConfigError(file, `servers.${name}`, (error as Error).message);
      }
    }
  }
  // The same server named twice (e.g. in `servers` and `gearman_job_server`) is one server.
  const unique = new Map(found.map((address) => [`${address.host}:${address.port}`, address]));
  return [...unique.values()];
}

function parseServerFlag(source: string, value: string): ServerAddress[] {
  try {
    const servers = parseAddressList(value);
    if (servers.length === 0) throw new Error('no server given');
    return servers;
  } catch (error) {
    throw new ConfigError(source, '', (error as Error).message);
  }
}

export interface ResolveOptions {
  readonly environment?: NodeJS.ProcessEnv;
  /** `exec` runs jobs without a job server. */
  readonly requireServers?: boolean;
  /** Resolve `atomDatabase` (read AtoM's config.php); default true. Verbs that never use it may skip it. */
  readonly atomDatabase?: boolean;
  /** Settings already parsed (startWorker's `config`), instead of reading a file. */
  readonly config?: LoadedConfig;
}

export function resolveSettings(flags: ConfigFlags, options: ResolveOptions = {}): Settings {
  const environment = options.environment ?? process.env;
  const requireServers = options.requireServers ?? true;
  const env = flags.env ?? DEFAULT_ENV;
  const envServers = environment[SERVERS_ENV_VAR];
  const configFile = flags.config ?? DEFAULT_CONFIG_FILE;
  // Without an explicit --config, a missing default file is fine when servers come from elsewhere.
  const fileNeeded =
    flags.config !== undefined || existsSync(configFile) || (requireServers && flags.servers === undefined && !envServers);
  const loaded: LoadedConfig | undefined = options.config ?? (fileNeeded ? loadConfigFile(configFile, env) : undefined);
  const section: Section = loaded?.section ?? {};
  const file = loaded?.file ?? '(no config file)';
  const aw = section.atom_worker ?? {};
  const warnings = [...(loaded?.warnings ?? [])];

  let servers: ServerAddress[];
  let serversSource: string;
  if (flags.servers !== undefined) {
    servers = parseServerFlag('--servers', flags.servers);
    serversSource = '--servers';
  } else if (envServers) {
    servers = parseServerFlag(SERVERS_ENV_VAR, envServers);
    serversSource = SERVERS_ENV_VAR;
  } else {
    servers = serversFromSection(file, section);
    serversSource = file;
    if (servers.length === 0 && requireServers) {
      throw new ConfigError(file, `${env === 'all' ? 'all' : `all (or ${env})`}.servers`, 'no job server configured: set `servers:` or `gearman_job_server:`, or pass --servers');
    }
  }

  if (aw.job_prefix !== undefined && aw.atom_root_dir !== undefined && flags.prefix === undefined) {
    throw new ConfigError(file, 'atom_worker.job_prefix', 'set either job_prefix or atom_root_dir, not both');
  }
  const prefix =
    flags.prefix ?? aw.job_prefix ?? (aw.atom_root_dir !== undefined ? atomJobPrefix(aw.atom_root_dir, aw.workers_key ?? '') : '');

  const workerTypes: Record<string, string[]> = {};
  for (const [group, names] of Object.entries(section.worker_types ?? {})) workerTypes[group] = names ?? [];

  const logFormat = (flags.logFormat ?? aw.log_format ?? 'auto') as LogFormat;
  if (!['json', 'pretty', 'auto'].includes(logFormat)) {
    throw new ConfigError('--log-format', '', `"${logFormat}" is not one of json, pretty, auto`);
  }
  const logLevel = flags.logLevel ?? aw.log_level ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('--log-level', '', `"${logLevel}" is not one of fatal, error, warn, info, debug, trace, silent`);
  }

  const jobsDirs = flags.jobs && flags.jobs.length > 0 ? flags.jobs : list(aw.jobs_dirs);
  const atomDatabase = (options.atomDatabase ?? true) ? resolveAtomDatabase(file, aw, flags.atomDatabase === false, warnings) : undefined;
  const { atom_database: _credentials, dashboard_token: _token, ...jobSettings } = aw;

  const heartbeatIntervalS = flags.heartbeatInterval ?? aw.heartbeat_interval ?? DEFAULT_HEARTBEAT_INTERVAL_S;

  return {
    configFile: loaded?.file,
    env,
    servers,
    serversSource,
    jobsDirs: jobsDirs.length > 0 ? jobsDirs.map((dir) => (dir === BUILTIN_JOBS ? builtinJobsDir() : path.resolve(dir))) : [builtinJobsDir()],
    jobsDirsIsDefault: jobsDirs.length === 0,
    concurrency: flags.concurrency ?? aw.concurrency ?? 1,
    logLevel,
    logFile: flags.logFile ?? aw.log_file,
    logFormat,
    prefix,
    workerTypes,
    types: list(flags.types ?? aw.types),
    abilities: list(flags.abilities ?? aw.abilities),
    clientId: flags.clientId ?? aw.client_id,
    jobTimeoutMs: flags.jobTimeout ?? aw.job_timeout,
    shutdownTimeoutMs: (flags.shutdownTimeout ?? aw.shutdown_timeout ?? DEFAULT_SHUTDOWN_TIMEOUT_S) * 1000,
    maxJobCount: flags.maxJobCount ?? aw.max_job_count,
    maxMemUsageKb: flags.maxMemUsage ?? aw.max_mem_usage,
    maxRuntimeS: flags.maxRuntime ?? aw.max_runtime,
    maxRuntimeSplayS: flags.maxRuntimeSplay ?? aw.max_runtime_splay ?? 0,
    maxPayloadBytes: flags.maxPayloadBytes ?? aw.max_payload_bytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    failureReply: (flags.failureReply ?? aw.failure_reply ?? 'fail') as 'fail' | 'exception',
    serverTimeouts: flags.serverTimeouts ?? aw.server_timeouts ?? false,
    heartbeatIntervalMs: heartbeatIntervalS === 0 ? undefined : heartbeatIntervalS * 1000,
    heartbeatTimeoutMs: (flags.heartbeatTimeout ?? aw.heartbeat_timeout ?? DEFAULT_HEARTBEAT_TIMEOUT_S) * 1000,
    jobSettings: jobSettings as Record<string, unknown>,
    warnings,
    journalPath:
      flags.journal === false ? undefined : path.resolve(typeof flags.journal === 'string' ? flags.journal : (aw.journal_path ?? DEFAULT_JOURNAL_PATH)),
    journalPathIsDefault: flags.journal === undefined && aw.journal_path === undefined,
    maxAttempts: flags.maxAttempts ?? aw.max_attempts,
    metricsPort: flags.metricsPort ?? aw.metrics_port,
    metricsHost: flags.metricsHost ?? aw.metrics_host ?? DEFAULT_METRICS_HOST,
    runDir: path.resolve(flags.runDir ?? aw.run_dir ?? DEFAULT_RUN_DIR),
    ...resolveOpsSettings(file, aw),
    ...(atomDatabase !== undefined ? { atomDatabase } : {}),
  };
}
