// `atom-worker run`: connect to every job server, register the jobs, serve until stopped.
import { type Command, Option } from 'commander';
import type { ConfigFlags } from '../config/settings.js';
import { createLogger } from '../log.js';
import { currentJobScope } from '../runtime/execute.js';
import { startLoopMonitor } from '../runtime/loopMonitor.js';
import { prepare } from '../runtime/prepare.js';
import { installSignalHandlers } from '../runtime/signals.js';
import { Worker } from '../runtime/worker.js';
import { formatAddress } from '../gearman/address.js';
import { VERSION } from '../version.js';
import { addConnectionOptions, addJobOptions, addLogOptions, nonNegativeInteger, positiveInteger } from './options.js';
import { EX_SOFTWARE, reportKnownError } from './exitCodes.js';

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
    );
  addLogOptions(command);
  command.addHelpText(
    'after',
    `
Signals: SIGTERM/SIGINT drain (finish running jobs, then exit 0); a second one stops at once.
SIGTSTP stops taking jobs, SIGCONT resumes; SIGHUP reopens --log-file.
Exit codes: 0 stopped cleanly, 1 jobs abandoned at shutdown, 78 configuration error, 111 recycling limit reached.`,
  );
  command.action(async (flags: ConfigFlags) => {
    process.exitCode = await runWorker(flags);
  });
}

export async function runWorker(flags: ConfigFlags): Promise<number> {
  let prepared;
  try {
    prepared = await prepare(flags);
  } catch (error) {
    const code = reportKnownError(error);
    if (code !== undefined) return code;
    throw error;
  }
  const { settings, registrations } = prepared;
  const logger = createLogger({ level: settings.logLevel, format: settings.logFormat, file: settings.logFile });
  const log = logger.log;
  for (const warning of prepared.warnings) log.warn(warning);

  const splayMs = settings.maxRuntimeSplayS > 0 ? Math.round(Math.random() * settings.maxRuntimeSplayS * 1000) : 0;
  const worker = new Worker({
    servers: settings.servers,
    registrations,
    concurrency: settings.concurrency,
    log,
    jobSettings: settings.jobSettings,
    clientId: settings.clientId,
    maxPayloadBytes: settings.maxPayloadBytes,
    failureReply: settings.failureReply,
    shutdownTimeoutMs: settings.shutdownTimeoutMs,
    maxJobCount: settings.maxJobCount,
    maxMemUsageKb: settings.maxMemUsageKb,
    maxRuntimeMs: settings.maxRuntimeS !== undefined ? settings.maxRuntimeS * 1000 + splayMs : undefined,
  });

  log.info(
    {
      version: VERSION,
      node: process.version,
      config: settings.configFile ?? null,
      servers: settings.servers.map(formatAddress),
      servers_from: settings.serversSource,
      concurrency: settings.concurrency,
      functions: registrations.map((registration) => ({
        job: registration.job.name,
        function: registration.functionName,
        ...(registration.timeoutMs !== undefined ? { timeout_ms: registration.timeoutMs } : {}),
      })),
    },
    `atom-worker ${VERSION} starting`,
  );

  // Safety nets: an error a handler leaves behind fails that job; anything else is logged, never silent.
  const onRejection = (reason: unknown): void => {
    const scope = currentJobScope();
    if (worker.failFromScope(scope, 'unhandled promise rejection', reason)) {
      log.error({ handle: scope?.info.handle, err: String(reason) }, 'unhandled rejection failed its job');
    } else log.error({ err: reason instanceof Error ? reason.stack : String(reason), handle: scope?.info.handle }, 'unhandled promise rejection (worker keeps serving)');
  };
  const onException = (error: Error): void => {
    const scope = currentJobScope();
    if (scope) {
      worker.failFromScope(scope, 'uncaught exception', error);
      log.error({ handle: scope.info.handle, err: error.stack }, 'uncaught exception in a job handler: job failed, worker keeps serving');
      return;
    }
    log.fatal({ err: error.stack }, 'uncaught exception outside any job: stopping');
    logger.flush();
    process.exit(EX_SOFTWARE);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);

  const monitor = startLoopMonitor({ log, describeRunning: () => worker.runningJobs() });
  const removeSignals = installSignalHandlers(worker, { log, onHangup: () => logger.reopen() });
  worker.start();
  const code = await worker.done;
  removeSignals();
  monitor.stop();
  log.info({ exit_code: code }, 'atom-worker stopped');
  logger.flush();
  // Sockets are closed; exit now rather than wait for stray handlers an abandoned job left running.
  process.exit(code);
}
