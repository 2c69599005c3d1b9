// `atom-worker jobs list|show|clear`: AtoM's jobs:list and jobs:clear, from the job journal.
import { hostname } from 'node:os';
import { type Command, Option } from 'commander';
import { type ConfigFlags, resolveSettings } from '../config/settings.js';
import { processAlive } from '../journal/processAlive.js';
import { JournalReader } from '../journal/reader.js';
import { JOURNAL_STATUSES, type JournalRow, type JournalStatus } from '../journal/schema.js';
import { EX_NOINPUT, EX_USAGE } from '../exitCodes.js';
import { exitCodeOf } from './reportError.js';
import { addLocalConfigOptions, positiveInteger } from './options.js';
import { formatDuration, formatTable, parseTimeArgument, plural } from './table.js';
import { journalToRead } from '../ops/serviceLocations.js';

interface JobsFlags extends ConfigFlags {
  json?: boolean;
  status?: JournalStatus;
  function?: string;
  since?: string;
  before?: string;
  limit?: number;
  yes?: boolean;
}

function addJournalOptions(command: Command): Command {
  return addLocalConfigOptions(command, 'atom_worker.journal_path')
    .option('--journal <path>', 'the journal file (default: journal_path, else var/atom-worker-journal.sqlite)');
}

export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description("the job journal: what ran, when, how it ended (AtoM's jobs:list / jobs:clear)");
  addJournalOptions(
    jobs
      .command('list')
      .description('list journalled job runs, oldest first')
      .addOption(new Option('--status <status>', 'only runs with this status').choices([...JOURNAL_STATUSES]))
      .option('-f, --function <name>', 'only runs of this function (full name, prefix included)')
      .option('--since <time>', 'only runs started since: a date (2024-05-01T10:00) or an age (30m, 2h, 7d)')
      .option('-n, --limit <n>', 'only the last N runs', positiveInteger('--limit'))
      .option('--json', 'print a JSON array'),
  ).action(async (flags: JobsFlags) => {
    process.exitCode = await withReader(flags, false, (reader) => listJobs(reader, flags));
  });
  addJournalOptions(
    jobs
      .command('show')
      .description('every detail of one run (by id), or of every run of a handle or unique key')
      .argument('<id>', 'journal id, job handle (H:host:N) or unique key')
      .option('--json', 'print JSON'),
  ).action(async (key: string, flags: JobsFlags) => {
    process.exitCode = await withReader(flags, false, (reader) => showJob(reader, key, flags));
  });
  addJournalOptions(
    jobs
      .command('clear')
      .description('delete ended runs from the journal (running ones are never cleared)')
      .option('--before <time>', 'only runs started before: a date or an age (7d = older than a week)')
      .option('-y, --yes', 'do not ask for confirmation')
      .option('--json', 'print the counts as JSON'),
  ).action(async (flags: JobsFlags) => {
    process.exitCode = await withReader(flags, true, (reader) => clearJobs(reader, flags));
  });
}

function journalFile(flags: JobsFlags): string | number {
  try {
    const settings = resolveSettings(flags, { requireServers: false, atomDatabase: false });
    if (settings.journalPath === undefined) {
      process.stderr.write('atom-worker jobs: the journal is off\n');
      return EX_USAGE;
    }
    const file = journalToRead({ journalPath: settings.journalPath, journalPathIsDefault: settings.journalPathIsDefault });
    if (file !== settings.journalPath) process.stderr.write(`(reading the installed service's journal, ${file})\n`);
    return file;
  } catch (error) {
    return exitCodeOf(error);
  }
}

function openReader(flags: JobsFlags, write: boolean): JournalReader | number {
  const file = journalFile(flags);
  if (typeof file === 'number') return file;
  try {
    return new JournalReader(file, { write });
  } catch (error) {
    process.stderr.write(`atom-worker jobs: cannot open the journal ${file}: ${(error as Error).message}\n`);
    return EX_NOINPUT;
  }
}

async function withReader(flags: JobsFlags, write: boolean, action: (reader: JournalReader) => number | Promise<number>): Promise<number> {
  const reader = openReader(flags, write);
  if (typeof reader === 'number') return reader;
  try {
    return await action(reader);
  } finally {
    reader.close();
  }
}

/** Rows for output, with a note on each running one whose worker is gone without ending it. */
function describeRows(rows: readonly JournalRow[]): Array<JournalRow & { worker_gone?: boolean }> {
  const host = hostname();
  return rows.map((row) => (row.status === 'running' && row.host === host && !processAlive(row.pid) ? { ...row, worker_gone: true } : row));
}

function badTime(flag: string, error: unknown): number {
  process.stderr.write(`atom-worker jobs: ${flag}: ${(error as Error).message}\n`);
  return EX_USAGE;
}

function listJobs(reader: JournalReader, flags: JobsFlags): number {
  let since: number | undefined;
  try {
    since = flags.since !== undefined ? parseTimeArgument(flags.since) : undefined;
  } catch (error) {
    return badTime('--since', error);
  }
  const rows = describeRows(
    reader.list({
      ...(flags.status ? { status: flags.status } : {}),
      ...(flags.function ? { function: flags.function } : {}),
      ...(since !== undefined ? { since } : {}),
      ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
    }),
  );
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write('no journalled jobs match\n');
    return 0;
  }
  const now = Date.now();
  process.stdout.write(
    `${formatTable(
      ['ID', 'STARTED', 'FUNCTION', 'HANDLE', 'TRY', 'STATUS', 'DURATION', 'PROGRESS', 'ERROR'],
      rows.map((row) => [
        String(row.id),
        new Date(row.started_at).toISOString().replace('T', ' ').slice(0, 19),
        row.function,
        row.handle,
        String(row.attempt),
        row.status + (row.worker_gone ? ' (worker gone)' : ''),
        row.duration_ms !== null ? formatDuration(row.duration_ms) : row.status === 'running' ? `${formatDuration(now - row.started_at)}…` : '-',
        row.progress_denominator !== null ? `${row.progress_numerator}/${row.progress_denominator}` : '',
        row.error ?? '',
      ]),
    )}\n`,
  );
  return 0;
}

function showJob(reader: JournalReader, key: string, flags: JobsFlags): number {
  const rows = describeRows(reader.show(key));
  if (rows.length === 0) {
    process.stderr.write(`atom-worker jobs show: no journalled job with id, handle or unique "${key}"\n`);
    return 1;
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(rows.length === 1 ? rows[0] : rows, null, 2)}\n`);
    return 0;
  }
  const blocks = rows.map((row) => {
    const fields: Array<[string, string]> = [
      ['id', String(row.id)],
      ['function', row.function],
      ['handle', row.handle],
      ['unique', row.unique_key || '(none)'],
      ['status', row.status + (row.worker_gone ? ' (its worker is gone: it will be re-delivered or was lost)' : '')],
      ['attempt', String(row.attempt)],
      ['worker', `${row.worker_id} (pid ${row.pid} on ${row.host})`],
      ['server', row.server ?? '-'],
      ['started', new Date(row.started_at).toISOString()],
      ['ended', row.ended_at !== null ? new Date(row.ended_at).toISOString() : '-'],
      ['duration', row.duration_ms !== null ? `${formatDuration(row.duration_ms)} (${row.duration_ms} ms)` : '-'],
      ['progress', row.progress_denominator !== null ? `${row.progress_numerator}/${row.progress_denominator}` : '-'],
      ['payload', row.payload_bytes !== null ? `${row.payload_bytes} bytes` : '-'],
      ['result', row.result_bytes !== null ? `${row.result_bytes} bytes` : '-'],
      ['error', row.error ?? '-'],
    ];
    return fields.map(([name, value]) => `${name.padEnd(9)} ${value}`).join('\n');
  });
  process.stdout.write(`${blocks.join('\n\n')}\n`);
  return 0;
}

async function clearJobs(reader: JournalReader, flags: JobsFlags): Promise<number> {
  let before: number | undefined;
  try {
    before = flags.before !== undefined ? parseTimeArgument(flags.before) : undefined;
  } catch (error) {
    return badTime('--before', error);
  }
  const counts = reader.countClearable(before);
  const scope = before !== undefined ? ` started before ${new Date(before).toISOString()}` : '';
  if (counts.running > 0 && !flags.json) {
    process.stderr.write(`${plural(counts.running, 'running job')}${scope} ${counts.running === 1 ? 'is' : 'are'} kept: running jobs are never cleared\n`);
  }
  if (counts.clearable === 0) {
    if (flags.json) process.stdout.write(`${JSON.stringify({ deleted: 0, kept_running: counts.running })}\n`);
    else process.stdout.write(`nothing to clear: no ended job${scope} in the journal\n`);
    return 0;
  }
  if (!flags.yes) {
    if (process.stdin.isTTY !== true) {
      process.stderr.write(`atom-worker jobs clear: would delete ${plural(counts.clearable, 'job')}${scope}; pass --yes to confirm when not on a terminal\n`);
      return EX_USAGE;
    }
    const { createInterface } = await import('node:readline/promises');
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await prompt.question(`Delete ${plural(counts.clearable, 'ended job')}${scope} from the journal? [y/N] `);
    prompt.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      process.stderr.write('nothing deleted\n');
      return 1;
    }
  }
  const deleted = reader.clear(before);
  if (flags.json) process.stdout.write(`${JSON.stringify({ deleted, kept_running: counts.running })}\n`);
  else process.stdout.write(`deleted ${plural(deleted, 'job')}\n`);
  return 0;
}
