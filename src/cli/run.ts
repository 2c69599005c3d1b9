// `atom-worker run`: parse the options, start the worker (src/service/startWorker.ts does the
// wiring), give it the process: signals, the shutdown watchdog, the exit code.
import { type Command, Option } from 'commander';
import type { ConfigFlags } from '../config/settings.js';
import { EXIT_FAILED } from '../exitCodes.js';
import { DEFAULT_ABORT_GRACE_MS } from '../runtime/options.js';
import { installSignalHandlers } from '../runtime/signals.js';
import { armShutdownWatchdog } from '../runtime/watchdog.js';
import type { WorkerHandle } from '../service/handle.js';
import { startWorker } from '../service/startWorker.js';
import { StartupError } from '../service/startupError.js';
import { addConnectionOptions, addJobOptions, addLogOptions, addOperationsOptions, nonNegativeInteger, portNumber, positiveInteger } from './options.js';
import { exitCodeOf } from './reportError.js';

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

/** The worker as a process: started from the flags, moved by signals, its exit code the process's. */
export async function runWorker(flags: ConfigFlags): Promise<number> {
  let handle: WorkerHandle;
  try {
    // Started below, once the signal handlers and the watchdog are in place (a SIGTERM during the start hooks drains).
    handle = await startWorker({ overrides: flags, processNets: true, controlSocket: true, systemdNotify: true, autoStart: false });
  } catch (error) {
    if (error instanceof StartupError) {
      process.stderr.write(`atom-worker: ${error.message}\n`);
      return error.exitCode;
    }
    return exitCodeOf(error);
  }
  const log = handle.log;
  const removeSignals = installSignalHandlers(handle, { log, onHangup: () => handle.reopenLog() });
  const stopWatchdog = armShutdownWatchdog({ deadlineMs: handle.settings.shutdownTimeoutMs + DEFAULT_ABORT_GRACE_MS, exitCode: EXIT_FAILED, log });
  await handle.start();
  const code = await handle.done;
  removeSignals();
  stopWatchdog();
  // Sockets are closed; exit now rather than wait for stray handlers an abandoned job left running.
  process.exit(code);
}
