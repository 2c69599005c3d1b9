// `atom-worker exec <job> [payload | @file | -]`: run one job handler once, locally, without a job
// server. Progress, data and warnings go to stderr, the result to stdout; the exit status is the outcome.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ConfigFlags } from '../config/settings.js';
import { resolveSettings } from '../config/settings.js';
import { createLogger } from '../log.js';
import { executeJob } from '../runtime/execute.js';
import { loadJobs } from '../runtime/loadJobs.js';
import { EX_USAGE, EXIT_FAILED } from '../exitCodes.js';
import { exitCodeOf } from './reportError.js';
import { addJobOptions, addLogOptions, positiveInteger } from './options.js';

/** Payload argument: inline text, `@file`, or `-` for standard input. */
export function readPayloadArgument(argument: string | undefined): Buffer {
  if (argument === undefined) return Buffer.from('{}');
  if (argument === '-') return readFileSync(0);
  if (argument.startsWith('@')) return readFileSync(argument.slice(1));
  return Buffer.from(argument);
}

export function registerExec(program: Command): void {
  const command = program
    .command('exec')
    .description('run one job handler once, locally, without a job server (for debugging any job)')
    .argument('<job>', 'job name, without prefix (e.g. qtSwordPluginWorker)')
    .argument('[payload]', 'JSON payload, @file to read it from a file, or - for stdin (default {})')
    .option('-c, --config <file>', 'configuration file for the jobs\' settings (atom_worker: section)')
    .option('--env <section>', 'config section merged over `all:`', 'worker')
    .option('--job-timeout <ms>', 'time limit, if the job sets none', positiveInteger('--job-timeout'));
  addJobOptions(command);
  addLogOptions(command);
  command.action(async (jobName: string, payloadArgument: string | undefined, flags: ConfigFlags) => {
    process.exitCode = await execJob(jobName, payloadArgument, flags);
  });
}

export async function execJob(jobName: string, payloadArgument: string | undefined, flags: ConfigFlags): Promise<number> {
  let settings;
  let jobs;
  try {
    settings = resolveSettings(flags, { requireServers: false });
    jobs = await loadJobs(settings.jobsDirs);
  } catch (error) {
    return exitCodeOf(error);
  }
  const job = jobs.get(jobName);
  if (!job) {
    process.stderr.write(`atom-worker exec: no job named "${jobName}" (loaded: ${[...jobs.keys()].join(', ') || 'none'})\n`);
    return EX_USAGE;
  }
  const payload = readPayloadArgument(payloadArgument);
  // Logs go to stderr so stdout carries only the result.
  const logger = createLogger({ level: settings.logLevel, format: settings.logFormat === 'auto' && process.stderr.isTTY ? 'pretty' : settings.logFormat, stream: process.stderr });
  const info = { handle: '', unique: '', function: settings.prefix + job.name, name: job.name };
  const startedAt = Date.now();
  const execution = executeJob({
    job,
    info,
    payload,
    log: logger.log.child({ function: info.function }),
    settings: settings.jobSettings,
    timeoutMs: job.timeoutMs ?? settings.jobTimeoutMs,
    maxPayloadBytes: settings.maxPayloadBytes,
    reporter: {
      status: (numerator, denominator) => process.stderr.write(`progress ${numerator}/${denominator}\n`),
      data: (chunk) => process.stderr.write(`data ${Buffer.from(chunk).toString()}\n`),
      warning: (message) => process.stderr.write(`warning ${message}\n`),
    },
  });
  const interrupt = (): void => execution.interrupt('interrupted by signal');
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const outcome = await execution.outcome;
  process.off('SIGINT', interrupt);
  process.off('SIGTERM', interrupt);
  const durationMs = Date.now() - startedAt;
  if (outcome.kind === 'completed') {
    process.stdout.write(outcome.result);
    if (outcome.result.length > 0 && !String(outcome.result).endsWith('\n')) process.stdout.write('\n');
    process.stderr.write(`completed in ${durationMs} ms\n`);
    return 0;
  }
  process.stderr.write(`${outcome.kind}: ${outcome.reason} (after ${durationMs} ms)\n`);
  return EXIT_FAILED;
}
