// `atom-worker run`: connect to every job server, register the jobs, serve until stopped.
import { type Command, Option } from 'commander';
import type { ConfigFlags } from '../config/settings.js';
import { createLogger } from '../log.js';
import { currentJobScope, describeThrown } from '../runtime/execute.js';
import { startLoopMonitor } from '../runtime/loopMonitor.js';
import { prepare } from '../runtime/prepare.js';
import { installSignalHandlers } from '../runtime/signals.js';
import { runStartHooks } from '../runtime/startHooks.js';
import { armShutdownWatchdog } from '../runtime/watchdog.js';
import { DEFAULT_ABORT_GRACE_MS, EXIT_ABANDONED, serverTimeoutFor, Worker, type WorkerObserver } from '../runtime/worker.js';
import { formatAddress } from '../gearman/address.js';
import { defaultClientId } from '../gearman/workerLink.js';
import type { JournalWriter } from '../journal/journal.js';
import { type ControlServer, runDirCandidates, startControlServer } from '../ops/control.js';
// Types only: prom-client (behind ../ops/metrics.js) loads only when --metrics-port is set.
import type { MetricsSources, OpsHttpServer } from '../ops/metrics.js';
import { notifySenderFromEnv, type SdNotifier, startSdNotify } from '../ops/sdNotify.js';
import { EX_CONFIG } from '../config/errors.js';
import { VERSION } from '../version.js';
import { addConnectionOptions, addJobOptions, addLogOptions, addOperationsOptions, nonNegativeInteger, portNumber, positiveInteger } from './options.js';
import { EX_IOERR, EX_SOFTWARE, exitCodeOf } from './exitCodes.js';
import { plural } from './table.js';

export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description('connect to the job servers, register the jobs and serve them until stopped');
  addConnectionOptions(command);
  addJobOptions(command);
  command
    .option('-n, --concurrency <n>', 'jobs run at once in this process, one connection per job server each (default 1)', positiveInteger('--concurrency'))
    .option('--client-id <id>', 'worker id shown by gearadmin --workers (default atom-worker:HOST:PID)')
    .option('--job-timeout <ms>', 'default time limit per job, for jobs that set none', positiveInteger('--job-timeout'))
    .option('--shutdown-timeout <seconds>', 'on SIGTERM, how long running jobs may take to finish (default 60)', positiveInteger('--shutdown-timeout'))
    .option('--max-job-count <n>', 'recycle (exit 111) after this many jobs', positiveInteger('--max-job-count'))
    .option('--max-mem-usage <kB>', 'recycle (exit 111) when resident memory exceeds this many kB', positiveInteger('--max-mem-usage'))
    .option('--max-runtime <seconds>', 'recycle (exit 111) after running this long', positiveInteger('--max-runtime'))
    .option('--max-runtime-splay <seconds>', 'add up to this many random seconds to --max-runtime', nonNegativeInteger('--max-runtime-splay'))
    .option('--max-payload-bytes <n>', 'refuse larger job payloads (default 67108864, 64 MiB)', positiveInteger('--max-payload-bytes'))
    .addOption(
      new Option('--failure-reply <kind>', 'how failed jobs are answered: fail (WORK_WARNING with the reason, then WORK_FAIL) or exception (WORK_EXCEPTION; only for clients that ask for exceptions)').choices(['fail', 'exception']),
    )
    .option('--heartbeat-interval <seconds>', 'ECHO_REQ on a connection quiet this long, to notice one that died without a FIN; 0: off (default 30)', nonNegativeInteger('--heartbeat-interval'))
    .option('--heartbeat-timeout <seconds>', 'no answer to the heartbeat within this long: reconnect (default 10)', positiveInteger('--heartbeat-timeout'))
    .option('--server-timeouts', "also register timed jobs with CAN_DO_TIMEOUT (only for a gearmand newer than 1.1.20: its timer is broken)");
  addOperationsOptions(command);
  command
    .option('--max-attempts <n>', 'a job re-delivered after crashes fails with "gave up after N attempts" instead of running again', positiveInteger('--max-attempts'))
    .option('--metrics-port <port>', 'serve Prometheus /metrics, /healthz and /readyz on this port (0: any free port)', portNumber('--metrics-port'))
    .option('--metrics-host <host>', 'address the metrics server listens on (default 127.0.0.1)');
  addLogOptions(command);
  command.addHelpText(
    'after',
    `
Signals: SIGTERM/SIGINT drain (finish running jobs, then exit 0); a second one stops at once,
also when a handler blocks the event loop (a watchdog thread ends the process at the shutdown
timeout + 5 s grace).
SIGTSTP stops taking jobs, SIGCONT resumes; SIGHUP reopens --log-file.
Exit codes: 0 stopped cleanly, 1 jobs abandoned at shutdown, 78 configuration error, 111 recycling limit reached.`,
  );
  command.action(async (flags: ConfigFlags) => {
    process.exitCode = await runWorker(flags);
  });
}

/** The culture AtoM's worker writes its error notes in (AtoM's default culture). */
const ATOM_CULTURE = 'en';

export async function runWorker(flags: ConfigFlags): Promise<number> {
  let prepared;
  try {
    prepared = await prepare(flags);
  } catch (error) {
    return exitCodeOf(error);
  }
  const { settings, registrations } = prepared;
  const logger = createLogger({ level: settings.logLevel, format: settings.logFormat, file: settings.logFile });
  const log = logger.log;
  for (const warning of prepared.warnings) log.warn(warning);

  let journal: JournalWriter | undefined;
  // The journal (better-sqlite3) and the metrics (prom-client) load only when configured.
  const journalModules = settings.journalPath !== undefined ? await Promise.all([import('../journal/journal.js'), import('../journal/observer.js')]) : undefined;
  const metricsModule = settings.metricsPort !== undefined ? await import('../ops/metrics.js') : undefined;
  if (journalModules && settings.journalPath !== undefined) {
    const [{ JournalWriter }] = journalModules;
    try {
      // A locked journal fails every flush (each 50 ms): say so at once, then at most every 30 s.
      let lastReportAt = 0;
      let failures = 0;
      journal = new JournalWriter({
        file: settings.journalPath,
        onError: (error) => {
          failures++;
          const now = Date.now();
          if (now - lastReportAt < 30_000) return;
          lastReportAt = now;
          log.error({ err: error.message, journal: settings.journalPath, failures, queued: journal?.unwritten }, 'job journal write failed; the rows stay queued and are retried');
          failures = 0;
        },
      });
    } catch (error) {
      process.stderr.write(`atom-worker: cannot open the job journal ${settings.journalPath}: ${(error as Error).message} (set journal_path, --journal PATH or --no-journal)\n`);
      return EX_CONFIG;
    }
  }
  const baseClientId = settings.clientId ?? defaultClientId();
  // The closures below read `worker`, constructed further down once its observers exist.
  const monitor = startLoopMonitor({ log, describeRunning: (since) => worker.jobsActiveSince(since) });
  const sources: MetricsSources = {
    lagMs: () => monitor.lagMs,
    maxLagMs: () => monitor.maxLagMs,
    loopHealthy: () => monitor.healthy(),
    connectedServers: () => worker.connectedServers.length,
    state: () => worker.currentState,
    ...(settings.atomDatabase ? { atomBacklog: () => jobTable?.backlog() } : {}),
  };
  const observers: WorkerObserver[] = [];
  if (journal && journalModules) {
    observers.push(
      journalModules[1].journalObserver({
        writer: journal,
        log,
        workerId: (slot) => (settings.concurrency > 1 ? `${baseClientId}:${slot}` : baseClientId),
        maxAttempts: settings.maxAttempts,
      }),
    );
  }
  const metrics = metricsModule ? metricsModule.createMetrics(settings.servers.map(formatAddress), sources) : undefined;
  if (metrics) observers.push(metrics.observer);
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
  if (jobTable) observers.push(jobTable.observer);
  const notifySender = notifySenderFromEnv(process.env, log);
  let sdNotify: SdNotifier | undefined;
  if (notifySender) {
    sdNotify = startSdNotify({
      sender: notifySender,
      environment: process.env,
      concurrency: settings.concurrency,
      runningJobs: () => worker.runningJobs(),
      loopHealthy: () => monitor.healthy(),
      state: () => worker.currentState,
      drainBudgetMs: settings.shutdownTimeoutMs + 10_000,
    });
    observers.push(sdNotify.observer);
  }

  const splayMs = settings.maxRuntimeSplayS > 0 ? Math.round(Math.random() * settings.maxRuntimeSplayS * 1000) : 0;
  const worker = new Worker({
    servers: settings.servers,
    registrations,
    concurrency: settings.concurrency,
    log,
    jobSettings: settings.jobSettings,
    clientId: baseClientId,
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
      functions: registrations.map((registration) => ({
        job: registration.job.name,
        function: registration.functionName,
        ...(registration.timeoutMs !== undefined ? { timeout_ms: registration.timeoutMs } : {}),
        ...(registration.timeoutMs !== undefined && settings.serverTimeouts ? { server_timeout_ms: serverTimeoutFor(registration.timeoutMs) } : {}),
      })),
    },
    `atom-worker ${VERSION} starting`,
  );

  // Safety nets: an error a handler leaves behind fails that job; anything else is logged, never silent.
  const onRejection = (reason: unknown): void => {
    const scope = currentJobScope();
    if (scope?.fail(`unhandled promise rejection: ${describeThrown(reason)}`)) {
      log.error({ handle: scope?.info.handle, err: String(reason) }, 'unhandled rejection failed its job');
    } else log.error({ err: reason instanceof Error ? reason.stack : String(reason), handle: scope?.info.handle }, 'unhandled promise rejection (worker keeps serving)');
  };
  const onException = (error: Error): void => {
    const scope = currentJobScope();
    if (scope) {
      scope.fail(`uncaught exception: ${describeThrown(error)}`);
      log.error({ handle: scope.info.handle, err: error.stack }, 'uncaught exception in a job handler: job failed, worker keeps serving');
      return;
    }
    log.fatal({ err: error.stack }, 'uncaught exception outside any job: stopping');
    journal?.close();
    logger.flush();
    process.exit(EX_SOFTWARE);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);

  let httpServer: OpsHttpServer | undefined;
  if (metrics && metricsModule && settings.metricsPort !== undefined) {
    try {
      httpServer = await metricsModule.startOpsHttpServer({ host: settings.metricsHost, port: settings.metricsPort, registry: metrics.registry, sources });
      log.info({ metrics_host: settings.metricsHost, metrics_port: httpServer.port }, `metrics and health on http://${settings.metricsHost.includes(':') ? `[${settings.metricsHost}]` : settings.metricsHost}:${httpServer.port}/metrics`);
    } catch (error) {
      log.fatal({ err: (error as Error).message, metrics_host: settings.metricsHost, metrics_port: settings.metricsPort }, 'cannot listen for metrics');
      journal?.close();
      logger.flush();
      return EX_CONFIG;
    }
  }
  let control: ControlServer | undefined;
  const startedAt = Date.now();
  try {
    control = await startControlServer(
      runDirCandidates(settings.runDir),
      {
        status: () => ({
          pid: process.pid,
          clientId: baseClientId,
          version: VERSION,
          state: worker.currentState,
          concurrency: settings.concurrency,
          startedAt,
          servers: settings.servers.map(formatAddress),
          connectedServers: worker.connectedServers,
          jobsStarted: worker.startedJobCount,
          ...(jobTable ? { atomBacklog: jobTable.backlog() } : {}),
          running: worker.runningJobs().map((job) => ({ ...job, ageS: Math.round((Date.now() - job.startedAt) / 1000) })),
        }),
        quiet: () => worker.quiet(),
        resume: () => worker.resume(),
      },
      log,
    );
    log.debug({ control_socket: control.socketPath }, 'control socket listening');
  } catch (error) {
    log.warn({ err: (error as Error).message }, 'no control socket: `atom-worker quiet/resume/status --local` cannot reach this worker');
  }
  const removeSignals = installSignalHandlers(worker, { log, onHangup: () => logger.reopen() });
  const stopWatchdog = armShutdownWatchdog({ deadlineMs: settings.shutdownTimeoutMs + DEFAULT_ABORT_GRACE_MS, exitCode: EXIT_ABANDONED, log });
  await runStartHooks(registrations, settings.jobSettings, log);
  worker.start();
  let code = await worker.done;
  removeSignals();
  stopWatchdog();
  monitor.stop();
  const rows = await jobTable?.stop();
  if (rows && rows.lost > 0) {
    log.error({ atom_backlog: rows.lost }, `${plural(rows.lost, 'AtoM job row update')} could not be applied or kept (the database and the journal were both unavailable)`);
    if (code === 0) code = EX_IOERR;
  }
  const unwritten = journal?.close() ?? 0;
  if (unwritten > 0) {
    // Those outcomes are lost to the journal: a supervisor and its operator must hear of it.
    log.error({ unwritten, journal: settings.journalPath }, `${plural(unwritten, 'job journal row')} could not be written before exit (the journal stayed locked or unwritable)`);
    if (code === 0) code = EX_IOERR;
  }
  sdNotify?.stop();
  await control?.close();
  await httpServer?.close();
  log.info({ exit_code: code }, 'atom-worker stopped');
  logger.flush();
  // Sockets are closed; exit now rather than wait for stray handlers an abandoned job left running.
  process.exit(code);
}
