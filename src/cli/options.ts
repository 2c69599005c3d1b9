// Option definitions shared by the verbs that read the configuration, and their parsers.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { BUILTIN_JOBS, DEFAULT_CONFIG_FILE, DEFAULT_ENV, SERVERS_ENV_VAR } from '../config/settings.js';

export function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) <= 0) throw new InvalidArgumentError(`${flag} takes a positive whole number, got "${value}"`);
    return Number(value);
  };
}

export function nonNegativeInteger(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} takes a whole number, got "${value}"`);
    return Number(value);
  };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** --config, --env, --servers: what every verb needs to find the job servers. */
export function addConnectionOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', `configuration file (AtoM's gearman.yml format)`, undefined)
    .addOption(new Option('--env <section>', 'config section merged over `all:`, as in AtoM').default(DEFAULT_ENV))
    .option('-s, --servers <list>', `job servers, "host[:port],…" (overrides ${SERVERS_ENV_VAR} and the file)`)
    .addHelpText('after', `\nThe configuration file defaults to ${DEFAULT_CONFIG_FILE} in the working directory.`);
}

/** --config and --env for the verbs that read only this machine's settings (journal, run dir). */
export function addLocalConfigOptions(command: Command, purpose: string): Command {
  return command
    .option('-c, --config <file>', `configuration file (for ${purpose})`)
    .option('--env <section>', 'config section merged over `all:`', DEFAULT_ENV);
}

/** --jobs, --prefix and the ability selection: what decides the registered function names. */
export function addJobOptions(command: Command): Command {
  return command
    .option('-j, --jobs <dir>', `folder of job modules (repeatable); replaces the built-in jobs unless ${BUILTIN_JOBS} is also given`, collect)
    .option('--prefix <string>', 'function-name prefix (overrides job_prefix / atom_root_dir)')
    .option('-t, --types <list>', 'register the jobs of these worker_types groups (comma-separated)')
    .option('-a, --abilities <list>', 'register exactly these jobs (comma-separated; overrides --types)');
}

export function addLogOptions(command: Command): Command {
  return command
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .addOption(new Option('--log-format <format>', 'json lines, or pretty (default: pretty on a terminal)').choices(['json', 'pretty', 'auto']))
    .option('--log-file <path>', 'append logs to this file instead of stdout (SIGHUP reopens it)');
}

/** --journal, --no-journal, --no-atom-database, --run-dir: shared with the verbs that read the journal or the control sockets. */
export function addOperationsOptions(command: Command): Command {
  return command
    .option('--journal <path>', 'SQLite job journal (default var/atom-worker-journal.sqlite under the working dir)')
    .option('--no-journal', 'do not journal jobs')
    .option('--no-atom-database', "do not update AtoM's job rows (ignore atom_database and AtoM's config.php)")
    .option('--run-dir <dir>', 'folder of the control sockets (default var/run under the working dir; $XDG_RUNTIME_DIR/atom-worker as fallback)');
}

export function portNumber(flag: string): (value: string) => number {
  return (value) => {
    const parsed = nonNegativeInteger(flag)(value);
    if (parsed > 65535) throw new InvalidArgumentError(`${flag} takes a port number 0-65535, got "${value}"`);
    return parsed;
  };
}
