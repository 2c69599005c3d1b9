// `atom-worker check`: validate the configuration, load the job modules, reach every job server
// (version and round-trip time), open the journal, and list the functions `run` would register.
// With AtoM's database configured, reach it too; on an AtoM site, say who serves each AtoM job type.
// Exits 0 when all is well, 78 for configuration problems, 69 when a job server or the database is down.
// Meant for ExecStartPre= in the systemd unit.
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import { formatAddress } from '../gearman/address.js';
import type { ConfigFlags } from '../config/settings.js';
import { describeRegistrations } from '../runtime/abilities.js';
import { prepare } from '../runtime/prepare.js';
import { type AtomDatabaseSettings, describeDatabase } from '../atom/databaseSettings.js';
import { atomJobCoverage, type JobTypeCoverage, unservedWarning } from '../atom/jobTypes.js';
import { isAtomSite, renderAtomJobTypes } from './atomJobTypes.js';
import { EX_CONFIG, EX_UNAVAILABLE } from '../exitCodes.js';
import { exitCodeOf } from './reportError.js';
import { addConnectionOptions, addJobOptions, addOperationsOptions, positiveInteger } from './options.js';
import { snakeCaseKeys } from './json.js';
import { formatTable, plural } from './table.js';

interface CheckFlags extends ConfigFlags {
  json?: boolean;
  timeout?: number;
  offline?: boolean;
}

export interface ServerCheck {
  readonly server: string;
  readonly ok: boolean;
  readonly version?: string;
  readonly rttMs?: number;
  readonly error?: string;
  /** Not contacted (--offline). */
  readonly skipped?: boolean;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly config: string | null;
  readonly env: string;
  readonly servers: ServerCheck[];
  readonly functions: Array<{ job: string; function: string; timeout_ms?: number }>;
  readonly warnings: string[];
  readonly journal: { path: string | null; ok: boolean; jobs?: number; error?: string };
  /** AtoM's database, when configured. */
  readonly atomDatabase?: DatabaseCheck;
  /** Who serves each AtoM job type on each server (an AtoM site: atom_root_dir or atom_database set). */
  readonly atomJobTypes?: JobTypeCoverage[];
  readonly problems: string[];
}

export function registerCheck(program: Command): void {
  const command = program
    .command('check')
    .description('validate the configuration, load the jobs, reach every job server; non-zero exit when anything is wrong (for ExecStartPre=)');
  addConnectionOptions(command);
  addJobOptions(command);
  addOperationsOptions(command);
  command
    .option('--timeout <ms>', 'how long each server may take to answer (default 3000)', positiveInteger('--timeout'))
    .option('--offline', 'do not contact the job servers (the worker itself waits for servers that are down); for ExecStartPre=')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExit codes: 0 all well, 69 a job server or AtoM\'s database is down or unreachable, 78 configuration or job-module error.');
  command.action(async (flags: CheckFlags) => {
    process.exitCode = await check(flags);
  });
}

async function checkServer(address: { host: string; port: number }, timeoutMs: number): Promise<ServerCheck> {
  const server = formatAddress(address);
  const { serverVersion } = await import('../gearman/admin.js');
  const started = performance.now();
  try {
    const version = await serverVersion(address, timeoutMs);
    return { server, ok: true, version, rttMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch (error) {
    return { server, ok: false, error: (error as Error).message.replace(`${server}: `, '') };
  }
}

export interface DatabaseCheck {
  readonly database: string;
  readonly source: string;
  readonly ok: boolean;
  readonly version?: string;
  readonly rttMs?: number;
  readonly jobTable?: boolean;
  readonly error?: string;
}

async function checkDatabase(settings: AtomDatabaseSettings, timeoutMs: number): Promise<DatabaseCheck> {
  const { openAtomDatabase, describeDatabaseError } = await import('../atom/database.js');
  const base = { database: describeDatabase(settings), source: settings.source };
  const db = openAtomDatabase(settings, 1);
  let timer: NodeJS.Timeout | undefined;
  try {
    const started = performance.now();
    const probe = (async () => {
      const [row] = await db.query<{ version: string }>('SELECT VERSION() AS version');
      const rttMs = Math.round((performance.now() - started) * 100) / 100;
      const tables = await db.query("SHOW TABLES LIKE 'job'");
      return { ...base, ok: tables.length > 0, version: row?.version ?? '?', rttMs, jobTable: tables.length > 0, ...(tables.length > 0 ? {} : { error: 'no `job` table: is this AtoM\'s database?' }) };
    })();
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)));
    return await Promise.race([probe, late]);
  } catch (error) {
    return { ...base, ok: false, error: describeDatabaseError(error) };
  } finally {
    clearTimeout(timer);
    void db.close().catch(() => undefined);
  }
}

async function check(flags: CheckFlags): Promise<number> {
  let prepared;
  try {
    prepared = await prepare(flags);
  } catch (error) {
    const code = exitCodeOf(error);
    if (flags.json) process.stdout.write(`${JSON.stringify({ ok: false, problems: [(error as Error).message] })}\n`);
    return code;
  }
  const { settings, registrations } = prepared;
  const timeoutMs = flags.timeout ?? 3000;
  const servers: ServerCheck[] = flags.offline
    ? settings.servers.map((address) => ({ server: formatAddress(address), ok: true, skipped: true }))
    : await Promise.all(settings.servers.map((address) => checkServer(address, timeoutMs)));

  let journal: CheckReport['journal'] = { path: settings.journalPath ?? null, ok: true };
  if (settings.journalPath !== undefined) {
    try {
      const { countJournalJobs } = await import('../journal/database.js');
      journal = { path: settings.journalPath, ok: true, jobs: countJournalJobs(settings.journalPath) };
    } catch (error) {
      journal = { path: settings.journalPath, ok: false, error: (error as Error).message };
    }
  }

  const atomDatabase = settings.atomDatabase && !flags.offline ? await checkDatabase(settings.atomDatabase, timeoutMs) : undefined;
  const atomSite = isAtomSite(settings);
  const atomJobTypes =
    atomSite && !flags.offline
      ? await atomJobCoverage(settings.servers, settings.prefix, new Set(registrations.map((registration) => registration.functionName)), timeoutMs)
      : undefined;
  const warnings = [...prepared.warnings];
  const lastServer = settings.servers.length > 0 ? formatAddress(settings.servers[settings.servers.length - 1]!) : undefined;
  for (const coverage of atomJobTypes ?? []) {
    const asked = coverage.servers[coverage.servers.length - 1];
    if (lastServer && asked && asked.error === undefined && asked.atomWorkers + asked.otherWorkers === 0) warnings.push(unservedWarning(coverage, lastServer));
  }

  // The DIP job writes into AtoM's database when it is configured, and needs AtoM's folder for the files.
  const dipOutput = settings.jobSettings.dip_output;
  if (settings.atomDatabase && dipOutput !== 'csv' && settings.jobSettings.atom_root_dir === undefined && registrations.some((registration) => registration.job.name === 'qtSwordPluginWorker')) {
    warnings.push("AtoM's database is configured but atom_root_dir is not: DIP jobs will fail, as their digital objects go into AtoM's uploads folder (set atom_root_dir, or dip_output: csv)");
  }

  const problems: string[] = [];
  if (atomDatabase && !atomDatabase.ok) problems.push(`AtoM database ${atomDatabase.database} (from ${atomDatabase.source}): ${atomDatabase.error}`);
  for (const server of servers) if (!server.ok) problems.push(`job server ${server.server} is down: ${server.error}`);
  if (registrations.length === 0) problems.push('no job would be registered (check --jobs, --types, --abilities)');
  if (!journal.ok) problems.push(`journal ${journal.path}: ${journal.error}`);
  const report: CheckReport = {
    ok: problems.length === 0,
    config: settings.configFile ?? null,
    env: settings.env,
    servers,
    functions: describeRegistrations(registrations),
    warnings,
    journal,
    ...(atomDatabase ? { atomDatabase } : {}),
    ...(atomJobTypes ? { atomJobTypes } : {}),
    problems,
  };

  if (flags.json) process.stdout.write(`${JSON.stringify(snakeCaseKeys(report), null, 2)}\n`);
  else process.stdout.write(renderCheck(report, settings.serversSource));
  const serverDown = servers.some((server) => !server.ok) || (atomDatabase !== undefined && !atomDatabase.ok);
  return report.ok ? 0 : serverDown ? EX_UNAVAILABLE : EX_CONFIG;
}

function renderCheck(report: CheckReport, serversSource: string): string {
  const out: string[] = [];
  out.push(`config:    ${report.config ?? '(none)'} (env ${report.env}; servers from ${serversSource})`);
  out.push(`journal:   ${report.journal.path === null ? 'off' : `${report.journal.path} ${report.journal.ok ? `(ok, ${plural(report.journal.jobs ?? 0, 'job')})` : `FAILED: ${report.journal.error}`}`}`);
  if (report.atomDatabase) {
    const db = report.atomDatabase;
    out.push(`database:  ${db.database} (from ${db.source}) ${db.ok ? `(ok, ${db.version}, ${db.rttMs} ms, job table found)` : `FAILED: ${db.error}`}`);
  }
  out.push('');
  out.push(
    formatTable(
      ['SERVER', 'STATUS', 'VERSION', 'RTT', 'ERROR'],
      report.servers.map((server) => [
        server.server,
        server.skipped ? 'not contacted' : server.ok ? 'ok' : 'DOWN',
        server.version ?? '-',
        server.rttMs !== undefined ? `${server.rttMs} ms` : '-',
        server.error ?? '',
      ]),
    ),
  );
  out.push('');
  out.push(
    formatTable(
      ['FUNCTION', 'JOB', 'TIMEOUT'],
      report.functions.map((fn) => [fn.function, fn.job, fn.timeout_ms !== undefined ? `${fn.timeout_ms} ms` : '-']),
    ),
  );
  if (report.atomJobTypes) {
    out.push('');
    out.push(renderAtomJobTypes(report.atomJobTypes, report.servers.map((server) => server.server)));
  }
  for (const warning of report.warnings) out.push(`warning: ${warning}`);
  out.push('');
  out.push(report.ok ? `check: ok (${plural(report.servers.length, 'server')}, ${plural(report.functions.length, 'function')})` : `check: FAILED\n${report.problems.map((problem) => `  - ${problem}`).join('\n')}`);
  return `${out.join('\n')}\n`;
}
