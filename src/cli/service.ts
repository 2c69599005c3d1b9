// `atom-worker service systemd|upstart`: print a ready service definition with absolute paths.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Argument, type Command, Option } from 'commander';
import { type ConfigFlags, DEFAULT_CONFIG_FILE, DEFAULT_ENV, DEFAULT_SHUTDOWN_TIMEOUT_S, resolveSettings } from '../config/settings.js';
import { systemdUnit, upstartJob, type UnitOptions } from '../ops/units.js';
import { VERSION } from '../version.js';
import { exitCodeOf } from './reportError.js';
import { positiveInteger } from './options.js';

/** As commander hands them over: the options with a default are always set. */
interface ServiceFlags extends ConfigFlags {
  env: string;
  user: string;
  group?: string;
  instances: number;
  workingDir?: string;
  name: string;
  logFile: string;
  watchdog: number;
  types?: string;
}

/** bin/atom-worker of this installation (this file is dist/src/cli/service.js). */
export function cliPath(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'atom-worker');
}

export function registerService(program: Command): void {
  program
    .command('service')
    .description('print a systemd unit or an upstart job for this installation, with absolute paths')
    .addArgument(new Argument('<kind>', 'systemd or upstart').choices(['systemd', 'upstart']))
    .option('-c, --config <file>', `configuration file (default ${DEFAULT_CONFIG_FILE} in the working dir)`)
    .addOption(new Option('--env <section>', 'config section the worker runs with').default(DEFAULT_ENV))
    .option('--user <user>', 'run as this user (as AtoM)', 'www-data')
    .option('--group <group>', 'run as this group (default: the user)')
    .option('--instances <n>', 'worker processes; more than 1 gives a systemd template unit / an upstart instance job', positiveInteger('--instances'), 1)
    .option('--working-dir <dir>', 'working directory of the worker (default: the current one)')
    .option('--name <name>', 'service name', 'atom-worker')
    .option('--log-file <path>', 'upstart: file stdout/stderr are appended to', '/var/log/atom-worker.log')
    .option('--watchdog <seconds>', 'systemd WatchdogSec, in seconds', positiveInteger('--watchdog'), 60)
    .option('--types <groups>', 'the service runs `run --types <groups>` (worker_types groups, comma-separated), e.g. sword beside AtoM\'s PHP worker')
    .addHelpText('after', '\nExample: atom-worker service systemd --user www-data > /etc/systemd/system/atom-worker.service')
    .action((kind: 'systemd' | 'upstart', flags: ServiceFlags) => {
      process.exitCode = printService(kind, flags);
    });
}

function unitOptions(flags: ServiceFlags): UnitOptions | number {
  const workingDir = path.resolve(flags.workingDir ?? process.cwd());
  const configPath = path.resolve(workingDir, flags.config ?? DEFAULT_CONFIG_FILE);
  let shutdownTimeoutS = DEFAULT_SHUTDOWN_TIMEOUT_S;
  if (existsSync(configPath)) {
    try {
      const settings = resolveSettings({ config: configPath, env: flags.env }, { requireServers: false, atomDatabase: false });
      shutdownTimeoutS = Math.ceil(settings.shutdownTimeoutMs / 1000);
    } catch (error) {
      return exitCodeOf(error);
    }
  } else process.stderr.write(`warning: ${configPath} does not exist (yet); the unit refers to it\n`);
  return {
    nodePath: process.execPath,
    cliPath: cliPath(),
    workingDir,
    configPath,
    env: flags.env,
    user: flags.user,
    group: flags.group ?? flags.user,
    instances: flags.instances,
    shutdownTimeoutS,
    version: VERSION,
    logFile: path.resolve(flags.logFile),
    name: flags.name,
    watchdogS: flags.watchdog,
    types: flags.types,
  };
}

function printService(kind: 'systemd' | 'upstart', flags: ServiceFlags): number {
  const options = unitOptions(flags);
  if (typeof options === 'number') return options;
  const unit = kind === 'systemd' ? systemdUnit(options) : upstartJob(options);
  process.stdout.write(unit.text);
  return 0;
}
