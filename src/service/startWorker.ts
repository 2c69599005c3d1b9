// startWorker: everything `atom-worker run` does, for any Node program. It resolves the settings
// (the config file's shape and schema), loads the jobs, wires the journal, metrics, AtoM's job table,
// the control socket and sd_notify around the runtime's Worker, and starts it. It installs no
// process-wide handler unless asked: signals and the shutdown watchdog are the `run` verb's.
import type { Logger } from 'pino';
import { type ConfigFlags, DEFAULT_ENV } from '../config/settings.js';
import { parseConfigDocument } from '../config/load.js';
import type { z } from 'zod';
import type { sectionSchema } from '../config/schema.js';
import { EX_IOERR } from '../exitCodes.js';
import { formatAddress } from '../gearman/address.js';
import { defaultClientId } from '../gearman/workerLink.js';
import { createLogger } from '../log.js';
import type { WorkerObserver } from '../runtime/events.js';
import { describeRegistrations } from '../runtime/abilities.js';
import { startLoopMonitor } from '../runtime/loopMonitor.js';
import { prepare } from '../runtime/prepare.js';
import { runStartHooks } from '../runtime/startHooks.js';
import { Worker } from '../runtime/worker.js';
import type { AnyJobDefinition } from '../types.js';
import { plural } from '../text.js';
import { VERSION } from '../version.js';
import { WorkerEventEmitter } from './events.js';
import { WorkerHandle } from './handle.js';
import { openWorkerJournal } from './journal.js';
import type { ControlServer } from '../ops/control.js';
import type { OpsHttpServer } from '../ops/metrics.js';
import { createMetricsPart, createSdNotify, type OpsContext, startControl } from './ops.js';
import { installProcessNets } from './processNets.js';

/** The settings as config/gearman.yml holds them: top-level keys, `all:` and environment sections. */
export type WorkerConfig = z.input<typeof sectionSchema> & { readonly all?: z.input<typeof sectionSchema> } & Readonly<Record<string, unknown>>;

export interface StartWorkerOptions {
  /** The settings, validated with the config file's schema; without it (and `configFile`) none are read. */
  readonly config?: WorkerConfig;
  /** Or read this file, as `run --config FILE`. */
  readonly configFile?: string;
  /** The section merged over `all:` (default `worker`). */
  readonly env?: string;
  /** Command-line style overrides (what `run`'s flags set), over the config. */
  readonly overrides?: ConfigFlags;
  /** Job definitions in this process; without `jobs_dirs` the built-in jobs are then not loaded. */
  readonly jobs?: readonly AnyJobDefinition[];
  /** A logger of your own; by default one is made from log_level, log_format and log_file. */
  readonly logger?: Logger;
  /** ATOM_WORKER_SERVERS and NOTIFY_SOCKET are read from here (default process.env). */
  readonly environment?: NodeJS.ProcessEnv;
  /** Install the unhandledRejection / uncaughtException nets that fail the job at fault (default false). */
  readonly processNets?: boolean;
  /** Listen on a control socket in run_dir for `atom-worker status/quiet/resume --local` (default false). */
  readonly controlSocket?: boolean;
  /** Speak sd_notify when NOTIFY_SOCKET is set (default false). */
  readonly systemdNotify?: boolean;
  /** Run the start hooks and connect now (default true); false leaves that to `handle.start()`. */
  readonly autoStart?: boolean;
}

/** The culture AtoM's worker writes its error notes in (AtoM's default culture). */
const ATOM_CULTURE = 'en';
const CONFIG_SOURCE = '(startWorker config)';

/**
 * Start a worker in this process. Rejects with a ConfigError or JobLoadError (bad settings or job
 * modules) or a StartupError (the journal or the metrics port unavailable), each with a message
 * that names the problem.
 */
export async function startWorker(options: StartWorkerOptions = {}): Promise<WorkerHandle> {
  const environment = options.environment ?? process.env;
  const flags: ConfigFlags = { ...options.overrides };
  if (options.configFile !== undefined) flags.config = options.configFile;
  if (options.env !== undefined) flags.env = options.env;
  const inline = options.config !== undefined ? parseConfigDocument(CONFIG_SOURCE, options.config, flags.env ?? DEFAULT_ENV) : undefined;
  const { settings, registrations, warnings } = await prepare(flags, {
    environment,
    ...(inline ? { config: inline } : {}),
    ...(options.jobs ? { jobs: options.jobs } : {}),
  });
  const logger = options.logger
    ? { log: options.logger, reopen() {}, flush: () => options.logger?.flush() }
    : createLogger({ level: settings.logLevel, format: settings.logFormat, file: settings.logFile });
  const log = logger.log;
  for (const warning of warnings) log.warn(warning);

  const clientId = settings.clientId ?? defaultClientId();
  const events = new WorkerEventEmitter(log);
  const observers: WorkerObserver[] = [];
  const journal = settings.journalPath !== undefined ? await openWorkerJournal(settings, settings.journalPath, clientId, log) : undefined;
  if (journal) observers.push(journal.observer);
  // AtoM's job rows (src/atom/), loaded only when AtoM's database is configured.
  const jobTable = settings.atomDatabase
    ? (await import('../atom/jobTableService.js')).startJobTableService({
        database: settings.atomDatabase,
        log,
        concurrency: settings.concurrency,
        journalPath: settings.journalPath,
        culture: ATOM_CULTURE,
        servers: settings.servers,
        prefix: settings.prefix,
      })
    : undefined;
  // The closures below read `worker`, constructed further down once its observers exist.
  const monitor = startLoopMonitor({ log, describeRunning: (since) => worker.jobsActiveSince(since) });
  const context: OpsContext = { settings, log, clientId, worker: () => worker, monitor, atomBacklog: jobTable ? () => jobTable.backlog() : undefined };
  const metrics = await createMetricsPart(context);
  if (metrics) observers.push(metrics.metrics.observer);
  if (jobTable) observers.push(jobTable.observer);
  const sdNotify = options.systemdNotify ? createSdNotify(context, environment) : undefined;
  if (sdNotify) observers.push(sdNotify.observer);
  observers.push(events.observer());

  const splayMs = settings.maxRuntimeSplayS > 0 ? Math.round(Math.random() * settings.maxRuntimeSplayS * 1000) : 0;
  const worker = new Worker({
    servers: settings.servers,
    registrations,
    concurrency: settings.concurrency,
    log,
    jobSettings: settings.jobSettings,
    clientId,
    maxPayloadBytes: settings.maxPayloadBytes,
    failureReply: settings.failureReply,
    serverTimeouts: settings.serverTimeouts,
    ...(settings.heartbeatIntervalMs !== undefined ? { heartbeat: { intervalMs: settings.heartbeatIntervalMs, timeoutMs: settings.heartbeatTimeoutMs } } : {}),
    shutdownTimeoutMs: settings.shutdownTimeoutMs,
    maxJobCount: settings.maxJobCount,
    maxMemUsageKb: settings.maxMemUsageKb,
    maxRuntimeMs: settings.maxRuntimeS !== undefined ? settings.maxRuntimeS * 1000 + splayMs : undefined,
    observers,
  });

  log.info(
    {
      version: VERSION,
      node: process.version,
      config: settings.configFile ?? null,
      servers: settings.servers.map(formatAddress),
      servers_from: settings.serversSource,
      concurrency: settings.concurrency,
      journal: settings.journalPath ?? null,
      ...(settings.maxAttempts !== undefined ? { max_attempts: settings.maxAttempts } : {}),
      functions: describeRegistrations(registrations, settings.serverTimeouts),
    },
    `atom-worker ${VERSION} starting`,
  );

  const removeNets = options.processNets
    ? installProcessNets(log, () => {
        journal?.writer.close();
        logger.flush();
      })
    : undefined;

  let httpServer: OpsHttpServer | undefined;
  let control: ControlServer | undefined;
  /** After the worker has stopped: let AtoM's rows and the journal settle, close the rest; the exit code. */
  const close = async (workerCode: number): Promise<number> => {
    let code = workerCode;
    monitor.stop();
    const rows = await jobTable?.stop();
    if (rows && rows.lost > 0) {
      log.error({ atom_backlog: rows.lost }, `${plural(rows.lost, 'AtoM job row update')} could not be applied or kept (the database and the journal were both unavailable)`);
      if (code === 0) code = EX_IOERR;
    }
    const unwritten = journal?.writer.close() ?? 0;
    if (unwritten > 0) {
      // Those outcomes are lost to the journal: a supervisor and its operator must hear of it.
      log.error({ unwritten, journal: settings.journalPath }, `${plural(unwritten, 'job journal row')} could not be written before exit (the journal stayed locked or unwritable)`);
      if (code === 0) code = EX_IOERR;
    }
    sdNotify?.stop();
    await control?.close();
    await httpServer?.close();
    removeNets?.();
    log.info({ exit_code: code }, 'atom-worker stopped');
    logger.flush();
    return code;
  };

  try {
    httpServer = await metrics?.listen();
  } catch (error) {
    worker.stopNow('cannot start');
    await close(0);
    throw error;
  }
  control = options.controlSocket ? await startControl(context) : undefined;
  const handle = new WorkerHandle(worker, events, {
    settings,
    log,
    functions: registrations.map((registration) => registration.functionName),
    begin: async () => {
      await runStartHooks(registrations, settings.jobSettings, log);
      worker.start();
    },
    close,
    reopenLog: () => logger.reopen(),
  });
  if (options.autoStart ?? true) await handle.start();
  return handle;
}
