// `atom-worker submit <job> [payload | @file | -]`: submit a job to the job servers, as AtoM does, and
// follow it (follow.ts): progress, data and warnings as they come, then the outcome. A background job
// is followed with GET_STATUS when asked (--wait). Warns at once when no server has a worker for it.
import { randomUUID } from 'node:crypto';
import { Option, type Command } from 'commander';
import type { ServerAddress } from '../gearman/address.js';
import type { GearmanClient } from '../gearman/client.js';
import type { Priority } from '../gearman/clientTypes.js';
import { type ConfigFlags, resolveSettings } from '../config/settings.js';
import { EX_NOINPUT, EX_TEMPFAIL, EX_UNAVAILABLE, EXIT_FAILED } from '../exitCodes.js';
import { readPayloadArgument } from './exec.js';
import { exitCodeOf } from './reportError.js';
import { FollowTimeout, followBackground, JobDisplay, journalledOutcome, resultValue, withTimeout } from './follow.js';
import { journalToRead } from '../ops/serviceLocations.js';
import { addConnectionOptions, positiveInteger } from './options.js';

interface SubmitFlags extends ConfigFlags {
  background?: boolean;
  unique?: string;
  priority?: Priority;
  wait?: boolean;
  json?: boolean;
  rawName?: boolean;
  timeout?: number;
  journal?: string | false;
}

export function registerSubmit(program: Command): void {
  const command = program
    .command('submit')
    .description('submit a job to the job servers (as AtoM does) and follow it to its outcome')
    .argument('<job>', 'job name; the configured prefix is added (e.g. atomWorkerTest)')
    .argument('[payload]', 'JSON payload, @file to read it from a file, or - for stdin (default {})');
  addConnectionOptions(command);
  command
    .option('--prefix <string>', 'function-name prefix (overrides job_prefix / atom_root_dir)')
    .option('--raw-name', 'use <job> as the function name as it is, without the prefix')
    .option('-b, --background', 'submit as a background job: print its handle and exit')
    .option('-u, --unique <key>', 'unique key (gearmand coalesces jobs with the same key; default a random UUID)')
    .addOption(new Option('-p, --priority <priority>', 'queue priority').choices(['high', 'normal', 'low']).default('normal'))
    .option('--wait', 'follow the job until it ends (the default for foreground jobs; a background job is followed with GET_STATUS)')
    .option('--timeout <seconds>', 'stop waiting after this long (the job stays queued or running); exit 75', positiveInteger('--timeout'))
    .option('--journal <path>', "with --background --wait: this machine's job journal, read for the outcome (default: the configured one)")
    .option('--json', 'print one JSON object with the outcome, progress steps, data and warnings at the end')
    .addHelpText(
      'after',
      `
Servers are picked by hashing the unique key (as AtoM's client does), with failover to the next one.
A warning is printed at once when no job server has a worker registered for the function.
gearmand does not tell clients how a background job ended; --wait reports it from this machine's
journal when the job ran here, else only that it finished.
Exit codes: 0 completed (or a background job finished), 1 failed or exception, 69 no job server
accepted the job, 75 --timeout reached, 78 configuration error.`,
    );
  command.action(async (job: string, payloadArgument: string | undefined, flags: SubmitFlags) => {
    process.exitCode = await submitJob(job, payloadArgument, flags);
  });
}

async function submitJob(jobName: string, payloadArgument: string | undefined, flags: SubmitFlags): Promise<number> {
  let settings;
  try {
    settings = resolveSettings(flags, { atomDatabase: false });
  } catch (error) {
    return exitCodeOf(error);
  }
  let payload: Buffer;
  try {
    payload = readPayloadArgument(payloadArgument);
  } catch (error) {
    process.stderr.write(`atom-worker submit: cannot read the payload: ${(error as Error).message}\n`);
    return EX_NOINPUT;
  }
  const fn = flags.rawName ? jobName : settings.prefix + jobName;
  const unique = flags.unique ?? randomUUID();
  const priority = flags.priority ?? 'normal';
  // Loaded here, not at start-up: every verb's module is imported by the CLI, `run` included.
  const { GearmanClient } = await import('../gearman/client.js');
  const { ClientError } = await import('../gearman/clientTypes.js');
  const client = new GearmanClient(settings.servers);
  const timeoutMs = flags.timeout === undefined ? undefined : flags.timeout * 1000;
  const json = flags.json === true;
  void warnIfNobodyServes(settings.servers, fn);
  try {
    if (flags.background) {
      const queued = await client.submitBackground(fn, payload, { unique, priority });
      if (!flags.wait) {
        if (json) process.stdout.write(`${JSON.stringify({ function: fn, unique, handle: queued.handle, server: queued.server, status: 'queued' })}\n`);
        else process.stdout.write(`${queued.handle}\n`);
        process.stderr.write(`queued ${fn} on ${queued.server} as ${queued.handle} (unique ${unique})\n`);
        return 0;
      }
      if (!json) process.stderr.write(`queued ${fn} on ${queued.server} as ${queued.handle}; following it\n`);
      const journalPath = journalToRead(settings);
      return await followQueued(client, { fn, unique, handle: queued.handle, server: queued.server, journalPath, timeoutMs, json });
    }
    return await followForeground(client, { fn, unique, priority, payload, timeoutMs, json });
  } catch (error) {
    if (error instanceof ClientError) {
      process.stderr.write(`atom-worker submit: ${error.message}\n`);
      return EX_UNAVAILABLE;
    }
    throw error;
  } finally {
    client.close();
  }
}

/** Admin `status` on every server: warn when none that answered has a worker for `fn`. */
async function warnIfNobodyServes(servers: readonly ServerAddress[], fn: string): Promise<void> {
  const { serverStatus } = await import('../gearman/admin.js');
  const answers = await Promise.allSettled(servers.map((address) => serverStatus(address, 3000)));
  const answered = answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value] : []));
  if (answered.length === 0) return;
  const workers = answered.flat().filter((entry) => entry.function === fn).reduce((sum, entry) => sum + entry.availableWorkers, 0);
  if (workers === 0) process.stderr.write(`warning: no worker is registered for ${fn} on any job server that answered: the job waits until one is\n`);
}

/** Where a job stands when we stop waiting for it, for the timeout message. */
async function whereIs(client: GearmanClient, handle: string, server: string): Promise<string> {
  if (handle === '') return 'not yet created';
  try {
    const status = await client.getStatus(handle, server);
    if (!status.known) return `${handle} has ended`;
    return `${handle} is still ${status.running ? 'running' : 'queued'} on ${server}`;
  } catch {
    return `${handle} on ${server}`;
  }
}

/** The --json line, one shape for every ending: who, where, how it ended, what it sent, then `detail`. */
function printJson(job: { fn: string; unique: string }, where: { handle: string; server: string }, status: string, durationMs: number, display: JobDisplay, detail: object = {}): void {
  const line = { function: job.fn, unique: job.unique, handle: where.handle, server: where.server, status, duration_ms: durationMs, progress: display.progress, data: display.data, warnings: display.warnings, ...detail };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** --timeout reached: say where the job stands (it goes on without us) and exit 75. */
async function gaveUp(client: GearmanClient, error: Error, job: { fn: string; unique: string; json: boolean }, handle: string, server: string, started: number, display: JobDisplay): Promise<number> {
  display.finish(false);
  const where = await whereIs(client, handle, server);
  if (job.json) printJson(job, { handle, server }, 'timeout', Date.now() - started, display);
  process.stderr.write(`atom-worker submit: ${error.message}: ${where}\n`);
  return EX_TEMPFAIL;
}

interface ForegroundJob {
  fn: string;
  unique: string;
  priority: Priority;
  payload: Buffer;
  timeoutMs: number | undefined;
  json: boolean;
}

async function followForeground(client: GearmanClient, job: ForegroundJob): Promise<number> {
  const display = new JobDisplay(job.json);
  const started = Date.now();
  let handle = '';
  let server = '';
  let outcome;
  try {
    outcome = await withTimeout(
      client.submit(job.fn, job.payload, {
        unique: job.unique,
        priority: job.priority,
        onCreated: (created, createdOn) => {
          handle = created;
          server = createdOn;
          if (!job.json) process.stderr.write(`submitted ${job.fn} to ${createdOn} as ${created}\n`);
        },
        ...display.callbacks(),
      }),
      job.timeoutMs,
    );
  } catch (error) {
    if (!(error instanceof FollowTimeout)) throw error;
    return gaveUp(client, error, job, handle, server, started, display);
  }
  const reason = display.finish(outcome.status === 'fail');
  const durationMs = Date.now() - started;
  if (job.json) {
    const detail = outcome.status === 'complete' ? { result: resultValue(outcome.result) } : outcome.status === 'exception' ? { error: outcome.message } : { error: reason ?? null };
    printJson(job, { handle: outcome.handle || handle, server: outcome.server }, outcome.status, durationMs, display, detail);
    return outcome.status === 'complete' ? 0 : EXIT_FAILED;
  }
  switch (outcome.status) {
    case 'complete': {
      process.stdout.write(outcome.result);
      if (outcome.result.length > 0 && !outcome.result.toString().endsWith('\n')) process.stdout.write('\n');
      process.stderr.write(`completed in ${durationMs} ms\n`);
      return 0;
    }
    case 'exception':
      process.stderr.write(`exception: ${outcome.message} (after ${durationMs} ms)\n`);
      return EXIT_FAILED;
    case 'fail':
      process.stderr.write(`failed${reason !== undefined ? `: ${reason}` : ''} (after ${durationMs} ms)\n`);
      return EXIT_FAILED;
  }
}

interface QueuedJob {
  fn: string;
  unique: string;
  handle: string;
  server: string;
  journalPath: string | undefined;
  timeoutMs: number | undefined;
  json: boolean;
}

async function followQueued(client: GearmanClient, job: QueuedJob): Promise<number> {
  const display = new JobDisplay(job.json);
  const started = Date.now();
  const stop = new AbortController();
  try {
    await withTimeout(followBackground(client, job.handle, job.server, display, stop.signal), job.timeoutMs);
  } catch (error) {
    stop.abort();
    if (!(error instanceof FollowTimeout)) throw error;
    return gaveUp(client, error, job, job.handle, job.server, started, display);
  }
  display.finish(false);
  const durationMs = Date.now() - started;
  const journalled = await journalledOutcome(job.journalPath, job.handle);
  // In the foreground's words ('complete', 'fail'); 'finished' when the outcome is not known here.
  const status = journalled === undefined ? 'finished' : journalled.status === 'completed' ? 'complete' : 'fail';
  if (job.json) {
    printJson(job, job, status, durationMs, display, journalled ? { journal_status: journalled.status, error: journalled.error } : {});
  } else if (journalled === undefined) {
    process.stderr.write(`finished after ${durationMs} ms (gearmand does not report a background job's outcome, and it is not in this machine's journal)\n`);
  } else {
    process.stderr.write(`${journalled.status}${journalled.error ? `: ${journalled.error}` : ''} (after ${durationMs} ms; from the journal)\n`);
  }
  return journalled === undefined || journalled.status === 'completed' ? 0 : EXIT_FAILED;
}
