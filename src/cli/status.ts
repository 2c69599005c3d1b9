// `atom-worker status`: the job servers' view (admin `status` and `workers`, merged across servers),
// with this configuration's functions marked; `--local` shows what this machine's workers are doing,
// over their control sockets. `--watch` redraws every `--interval` seconds.
import type { Command } from 'commander';
import { formatAddress } from '../gearman/address.js';
import { type ConfigFlags, resolveSettings } from '../config/settings.js';
import { controlAll, type LocalWorkerStatus } from '../ops/control.js';
import { type Prepared, prepare } from '../runtime/prepare.js';
import { EX_UNAVAILABLE } from '../exitCodes.js';
import { exitCodeOf } from './reportError.js';
import { resolveRunDirs } from './control.js';
import { progressBar } from './follow.js';
import { snakeCaseKeys } from './json.js';
import { addConnectionOptions, addJobOptions, positiveInteger } from './options.js';
import type { JobTypeCoverage } from '../atom/jobTypes.js';
import { isAtomSite, renderAtomJobTypes } from './atomJobTypes.js';
import { formatDuration, formatTable, plural } from './table.js';

interface StatusFlags extends ConfigFlags {
  json?: boolean;
  watch?: boolean;
  interval?: number;
  local?: boolean;
  all?: boolean;
}

export interface FunctionRow {
  function: string;
  /**
   * Jobs not yet handed to a worker: gearmand's admin `status` counts the running ones in its total.
   * null where a server's counter is not believable (see `counter`).
   */
  waiting: number | null;
  running: number | null;
  available_workers: number | null;
  ours: boolean;
  servers: string[];
}

export interface ServerReport {
  server: string;
  ok: boolean;
  error?: string;
}

export interface ClusterStatus {
  servers: ServerReport[];
  functions: FunctionRow[];
  workers: Array<{ client_id: string; ip: string; server: string; functions: string[] }>;
  /** On an AtoM site: who serves each AtoM job type on each server. */
  atom_job_types?: JobTypeCoverage[];
}

export function registerStatus(program: Command): void {
  const command = program
    .command('status')
    .description("the job servers' queues and workers (merged), one job by handle, or with --local what this machine's workers run now")
    .argument('[handle]', "a job handle (as submit prints it): where that job stands, by GET_STATUS on every server");
  addConnectionOptions(command);
  addJobOptions(command);
  command
    .option('--local', "show this machine's running workers (pid, state, running jobs) instead")
    .option('--run-dir <dir>', "with --local: folder of the control sockets (default: run_dir, else var/run under the working dir, then an installed service's)")
    .option('--all', 'list every function the servers know, not only ours and those with waiting or running jobs')
    .option('-w, --watch', 'redraw every --interval seconds until interrupted')
    .option('-i, --interval <seconds>', 'refresh period for --watch (default 2)', positiveInteger('--interval'))
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 69 a job server did not answer (or, with --local, no worker found), 78 configuration error.
With a handle: 0 a server knows the job (queued or running), 1 none does (it has ended, or never existed),
69 no server answered.`,
    );
  command.action(async (handle: string | undefined, flags: StatusFlags) => {
    process.exitCode = handle === undefined ? await statusVerb(flags) : await jobStatusVerb(handle, flags);
  });
}

async function gatherClusterStatus(prepared: Prepared, flags: StatusFlags): Promise<ClusterStatus> {
  const ours = new Set(prepared.registrations.map((registration) => registration.functionName));
  const byFunction = new Map<string, FunctionRow>();
  const workers: ClusterStatus['workers'] = [];
  const servers = await Promise.all(
    prepared.settings.servers.map(async (address): Promise<ServerReport> => {
      const server = formatAddress(address);
      try {
        const { serverStatus, serverWorkers } = await import('../gearman/admin.js');
        const [status, connected] = await Promise.all([serverStatus(address), serverWorkers(address)]);
        for (const entry of status) {
          const row = byFunction.get(entry.function) ?? { function: entry.function, waiting: 0, running: 0, available_workers: 0, ours: ours.has(entry.function), servers: [] };
          addServerCounts(row, entry);
          row.servers.push(server);
          byFunction.set(entry.function, row);
        }
        for (const worker of connected) {
          // Client connections (no functions, id "-") are not workers.
          if (worker.functions.length === 0) continue;
          workers.push({ client_id: worker.clientId, ip: worker.ip, server, functions: [...worker.functions] });
        }
        return { server, ok: true };
      } catch (error) {
        return { server, ok: false, error: (error as Error).message.replace(`${server}: `, '') };
      }
    }),
  );
  for (const fn of ours) if (!byFunction.has(fn)) byFunction.set(fn, { function: fn, waiting: 0, running: 0, available_workers: 0, ours: true, servers: [] });
  const functions = [...byFunction.values()]
    .filter((row) => flags.all || row.ours || row.waiting !== 0 || row.running !== 0)
    .sort((a, b) => Number(b.ours) - Number(a.ours) || a.function.localeCompare(b.function));
  workers.sort((a, b) => a.client_id.localeCompare(b.client_id) || a.server.localeCompare(b.server));
  if (!isAtomSite(prepared.settings)) return { servers, functions, workers };
  const { atomJobCoverage } = await import('../atom/jobTypes.js');
  const atomJobTypes = await atomJobCoverage(prepared.settings.servers, prepared.settings.prefix, ours, 3000);
  return { servers, functions, workers, atom_job_types: atomJobTypes };
}

/**
 * A counter from gearmand's admin `status`, or null when it cannot be true: gearmand 1.1.20's
 * CAN_DO_TIMEOUT bug (gearmand issue 301) underflows its unsigned counters to about 2^32.
 */
export function counter(value: number): number | null {
  return Number.isFinite(value) && value >= 0 && value < 2 ** 31 ? value : null;
}

function sum(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : a + b;
}

/** Add one server's line for a function to the merged row. */
export function addServerCounts(row: FunctionRow, entry: { queued: number; running: number; availableWorkers: number }): void {
  const total = counter(entry.queued);
  const running = counter(entry.running);
  row.waiting = sum(row.waiting, total === null || running === null ? null : Math.max(0, total - running));
  row.running = sum(row.running, running);
  row.available_workers = sum(row.available_workers, counter(entry.availableWorkers));
}

const UNKNOWN_NOTE = "? = a job server's counter underflowed (gearmand 1.1.20's CAN_DO_TIMEOUT bug, gearmand issue 301); restarting that gearmand resets it";

function renderClusterStatus(status: ClusterStatus): string {
  const out: string[] = [];
  out.push(formatTable(['SERVER', 'STATUS'], status.servers.map((server) => [server.server, server.ok ? 'ok' : `DOWN: ${server.error}`])));
  out.push('');
  out.push(
    status.functions.length === 0
      ? 'no functions'
      : formatTable(
          ['', 'FUNCTION', 'WAITING', 'RUNNING', 'WORKERS'],
          status.functions.map((row) => [row.ours ? '*' : '', row.function, String(row.waiting ?? '?'), String(row.running ?? '?'), String(row.available_workers ?? '?')]),
        ),
  );
  out.push('(* registered by this configuration)');
  if (status.functions.some((row) => row.waiting === null || row.running === null || row.available_workers === null)) out.push(UNKNOWN_NOTE);
  out.push('');
  out.push(
    status.workers.length === 0
      ? 'no workers connected'
      : formatTable(['CLIENT ID', 'IP', 'SERVER', 'FUNCTIONS'], status.workers.map((worker) => [worker.client_id, worker.ip, worker.server, worker.functions.join(' ')])),
  );
  if (status.atom_job_types) {
    out.push('');
    out.push(renderAtomJobTypes(status.atom_job_types, status.servers.map((server) => server.server)));
  }
  return `${out.join('\n')}\n`;
}

function renderLocalStatus(workers: readonly LocalWorkerStatus[], now = Date.now()): string {
  if (workers.length === 0) return 'no atom-worker running on this machine\n';
  const out: string[] = [];
  out.push(
    formatTable(
      ['PID', 'STATE', 'BUSY', 'SERVERS', 'JOBS', 'UP', 'CLIENT ID'],
      workers.map((worker) => [
        String(worker.pid),
        worker.state,
        `${worker.running.length}/${worker.concurrency}`,
        `${worker.connectedServers.length}/${worker.servers.length}`,
        String(worker.jobsStarted),
        formatDuration(now - worker.startedAt),
        worker.clientId,
      ]),
    ),
  );
  for (const worker of workers) {
    if (worker.atomBacklog !== undefined && worker.atomBacklog > 0) out.push(`worker ${worker.pid}: ${plural(worker.atomBacklog, 'AtoM job row update')} waiting for the database`);
  }
  const jobs = workers.flatMap((worker) => worker.running.map((job) => ({ pid: worker.pid, ...job })));
  out.push('');
  out.push(
    jobs.length === 0
      ? 'no jobs running'
      : formatTable(
          ['PID', 'SLOT', 'FUNCTION', 'HANDLE', 'AGE'],
          jobs.map((job) => [String(job.pid), String(job.slot), job.function, job.handle, formatDuration(now - job.startedAt)]),
        ),
  );
  return `${out.join('\n')}\n`;
}

/** One report: the local workers' (`prepared` undefined, --local), or the job servers' for `prepared`. */
async function once(flags: StatusFlags, prepared: Prepared | undefined): Promise<{ text: string; json: unknown; code: number }> {
  if (prepared === undefined) {
    const runDirs = resolveRunDirs(flags);
    if (typeof runDirs === 'number') return { text: '', json: null, code: runDirs };
    const results = await controlAll(runDirs, 'status');
    const workers = results.flatMap((result) => (result.reply?.ok ? [result.reply.status] : []));
    const errors = results.filter((result) => !result.stale && !result.reply?.ok).map((result) => `pid ${result.pid}: ${result.error ?? 'no answer'}`);
    return {
      text: renderLocalStatus(workers) + errors.map((error) => `error: ${error}\n`).join(''),
      json: snakeCaseKeys({ workers, errors }),
      code: workers.length === 0 ? EX_UNAVAILABLE : 0,
    };
  }
  const status = await gatherClusterStatus(prepared, flags);
  return { text: renderClusterStatus(status), json: snakeCaseKeys(status), code: status.servers.some((server) => !server.ok) ? EX_UNAVAILABLE : 0 };
}

/** `status <handle>`: GET_STATUS on every configured server. */
async function jobStatusVerb(handle: string, flags: StatusFlags): Promise<number> {
  let settings;
  try {
    settings = resolveSettings(flags, { atomDatabase: false });
  } catch (error) {
    return exitCodeOf(error);
  }
  const { GearmanClient } = await import('../gearman/client.js');
  const client = new GearmanClient(settings.servers);
  try {
    const { found, errors } = await client.findJob(handle);
    for (const error of errors) process.stderr.write(`warning: ${error}\n`);
    if (found === undefined && errors.length === settings.servers.length) return EX_UNAVAILABLE;
    const state = found === undefined ? 'unknown' : found.running ? 'running' : 'queued';
    if (flags.json) {
      const progress = found && found.denominator > 0 ? { numerator: found.numerator, denominator: found.denominator } : null;
      process.stdout.write(`${JSON.stringify({ handle, state, server: found?.server ?? null, progress }, null, 2)}\n`);
    } else if (found === undefined) {
      process.stdout.write(`${handle}: not known to any job server (it has ended, or never existed)\n`);
    } else {
      const progress = found.denominator > 0 ? `  ${progressBar(found.numerator, found.denominator)}` : '';
      process.stdout.write(`${handle}: ${state} on ${found.server}${progress}\n`);
    }
    return found === undefined ? 1 : 0;
  } finally {
    client.close();
  }
}

async function statusVerb(flags: StatusFlags): Promise<number> {
  try {
    // Settings and job modules once, not again at every --watch redraw; --local needs neither.
    const prepared = flags.local ? undefined : await prepare(flags, { atomDatabase: false });
    if (!flags.watch) {
      const result = await once(flags, prepared);
      process.stdout.write(flags.json ? `${JSON.stringify(result.json, null, 2)}\n` : result.text);
      return result.code;
    }
    const intervalMs = (flags.interval ?? 2) * 1000;
    const tty = process.stdout.isTTY === true;
    let stop = false;
    const onSignal = (): void => {
      stop = true;
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let code = 0;
    while (!stop) {
      const result = await once(flags, prepared);
      code = result.code;
      if (flags.json) process.stdout.write(`${JSON.stringify(result.json)}\n`);
      else process.stdout.write(`${tty ? '\x1b[H\x1b[2J' : '\n'}${new Date().toISOString()}  (every ${intervalMs / 1000} s, Ctrl-C to stop)\n\n${result.text}`);
      await new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined = undefined;
        const wake = (): void => {
          clearTimeout(timer);
          process.off('SIGINT', wake);
          process.off('SIGTERM', wake);
          resolve();
        };
        timer = setTimeout(wake, intervalMs);
        process.once('SIGINT', wake);
        process.once('SIGTERM', wake);
      });
    }
    return code;
  } catch (error) {
    return exitCodeOf(error);
  }
}
