// `atom-worker submit <job> [payload | @file | -]`: submit a job to the job servers, as AtoM does, and
// follow it: a progress bar on a terminal (a plain line per update otherwise), WORK_DATA to stdout
// and warnings to stderr as they come, then the result. Exit 0 on success, 1 on failure or exception,
// 69 when no job server accepted it.
import { randomUUID } from 'node:crypto';
import { Option, type Command } from 'commander';
import type { GearmanClient, JobOutcome, Priority } from '../gearman/client.js';
import { type ConfigFlags, resolveSettings } from '../config/settings.js';
import { EX_UNAVAILABLE, exitCodeOf } from './exitCodes.js';
import { EX_JOB_FAILED, readPayloadArgument } from './exec.js';
import { addConnectionOptions } from './options.js';

interface SubmitFlags extends ConfigFlags {
  background?: boolean;
  unique?: string;
  priority?: Priority;
  wait?: boolean;
  json?: boolean;
  rawName?: boolean;
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
    .option('--wait', 'follow the job to its outcome (the default for foreground jobs)')
    .option('--json', 'print one JSON object with the outcome, progress steps, data and warnings at the end')
    .addHelpText(
      'after',
      `
Servers are picked by hashing the unique key (as AtoM's client does), with failover to the next one.
Exit codes: 0 completed, 1 failed or exception, 69 no job server accepted the job, 78 configuration error.`,
    );
  command.action(async (job: string, payloadArgument: string | undefined, flags: SubmitFlags) => {
    process.exitCode = await submitJob(job, payloadArgument, flags);
  });
}

/** A one-line progress bar, redrawn in place on a terminal. */
function progressBar(numerator: number, denominator: number, width = 30): string {
  const fraction = denominator > 0 ? Math.min(1, Math.max(0, numerator / denominator)) : 0;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${numerator}/${denominator} ${Math.round(fraction * 100)}%`;
}

async function submitJob(jobName: string, payloadArgument: string | undefined, flags: SubmitFlags): Promise<number> {
  let settings;
  try {
    settings = resolveSettings(flags);
  } catch (error) {
    return exitCodeOf(error);
  }
  if (flags.background && flags.wait) {
    process.stderr.write('atom-worker submit: --wait follows foreground jobs only; a background job cannot be followed (drop --wait or --background)\n');
    return 64;
  }
  let payload: Buffer;
  try {
    payload = readPayloadArgument(payloadArgument);
  } catch (error) {
    process.stderr.write(`atom-worker submit: cannot read the payload: ${(error as Error).message}\n`);
    return 66;
  }
  const fn = flags.rawName ? jobName : settings.prefix + jobName;
  const unique = flags.unique ?? randomUUID();
  const priority = flags.priority ?? 'normal';
  // Loaded here, not at start-up: every verb's module is imported by the CLI, `run` included.
  const { ClientError, GearmanClient } = await import('../gearman/client.js');
  const client = new GearmanClient(settings.servers);
  try {
    if (flags.background) {
      const queued = await client.submitBackground(fn, payload, { unique, priority });
      if (flags.json) process.stdout.write(`${JSON.stringify({ function: fn, unique, handle: queued.handle, server: queued.server, status: 'queued' })}\n`);
      else process.stdout.write(`${queued.handle}\n`);
      process.stderr.write(`queued ${fn} on ${queued.server} as ${queued.handle} (unique ${unique})\n`);
      return 0;
    }
    return await follow(client, fn, unique, priority, payload, flags.json === true);
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

async function follow(client: GearmanClient, fn: string, unique: string, priority: Priority, payload: Buffer, json: boolean): Promise<number> {
  const tty = process.stderr.isTTY === true && !json;
  const started = Date.now();
  const progress: Array<[number, number]> = [];
  const data: string[] = [];
  const warnings: string[] = [];
  let barShown = false;
  const clearBar = (): void => {
    if (barShown) process.stderr.write('\r\x1b[K');
    barShown = false;
  };
  let handle = '';
  const outcome: JobOutcome = await client.submit(fn, payload, {
    unique,
    priority,
    onCreated: (created, server) => {
      handle = created;
      if (!json) process.stderr.write(`submitted ${fn} to ${server} as ${created}\n`);
    },
    onStatus: (numerator, denominator) => {
      progress.push([numerator, denominator]);
      if (json) return;
      if (tty) {
        process.stderr.write(`\r\x1b[K${progressBar(numerator, denominator)}`);
        barShown = true;
      } else process.stderr.write(`progress ${numerator}/${denominator}\n`);
    },
    onData: (chunk) => {
      data.push(chunk.toString());
      if (json) return;
      clearBar();
      process.stdout.write(chunk);
      if (!chunk.toString().endsWith('\n')) process.stdout.write('\n');
    },
    onWarning: (chunk) => {
      warnings.push(chunk.toString());
      if (json) return;
      clearBar();
      process.stderr.write(`warning: ${chunk.toString()}\n`);
    },
  });
  clearBar();
  const durationMs = Date.now() - started;
  if (json) {
    const base = { function: fn, unique, handle: outcome.handle || handle, server: outcome.server, status: outcome.status, duration_ms: durationMs, progress, data, warnings };
    const detail =
      outcome.status === 'complete' ? { result: outcome.result.toString() } : outcome.status === 'exception' ? { error: outcome.message } : { error: warnings.at(-1) ?? null };
    process.stdout.write(`${JSON.stringify({ ...base, ...detail })}\n`);
    return outcome.status === 'complete' ? 0 : EX_JOB_FAILED;
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
      return EX_JOB_FAILED;
    case 'fail':
      // atom-worker sends the reason as a warning just before WORK_FAIL.
      process.stderr.write(`failed${warnings.length > 0 ? `: ${warnings.at(-1)}` : ''} (after ${durationMs} ms)\n`);
      return EX_JOB_FAILED;
  }
}
