// `atom-worker quiet` / `atom-worker resume`: tell the workers running on this machine (over their
// control sockets in the run dir) to stop taking new jobs, or to take them again. Running jobs go on.
import type { Command } from 'commander';
import { type ConfigFlags, resolveSettings } from '../config/settings.js';
import { type ControlCommand, controlAll, runDirCandidates } from '../ops/control.js';
import { EX_UNAVAILABLE } from '../exitCodes.js';
import { exitCodeOf } from './reportError.js';
import { addLocalConfigOptions, positiveInteger } from './options.js';
import { snakeCaseKeys } from './json.js';
import { plural } from './table.js';

interface ControlFlags extends ConfigFlags {
  pid?: number;
  json?: boolean;
}

function addRunDirOptions(command: Command): Command {
  return addLocalConfigOptions(command, 'atom_worker.run_dir')
    .option('--run-dir <dir>', "folder of the control sockets (default: run_dir, else var/run under the working dir, then an installed service's)");
}

/** The run dirs to look in, or an exit code. */
export function resolveRunDirs(flags: ConfigFlags): string[] | number {
  try {
    const settings = resolveSettings(flags, { requireServers: false, atomDatabase: false });
    return runDirCandidates(settings.runDir, process.env, true);
  } catch (error) {
    return exitCodeOf(error);
  }
}

export function registerControl(program: Command): void {
  for (const [verb, description] of [
    ['quiet', 'stop the local workers from taking new jobs (running jobs finish; they stay registered)'],
    ['resume', 'let quieted local workers take jobs again'],
  ] as const) {
    const command = program.command(verb).description(description);
    addRunDirOptions(command)
      .option('--pid <pid>', 'only the worker with this process id', positiveInteger('--pid'))
      .option('--json', 'print the answers as JSON')
      .addHelpText('after', '\nExit codes: 0 every worker found answered, 1 one did not, 69 no running worker found.');
    command.action(async (flags: ControlFlags) => {
      process.exitCode = await controlVerb(verb, flags);
    });
  }
}

async function controlVerb(command: ControlCommand, flags: ControlFlags): Promise<number> {
  const runDirs = resolveRunDirs(flags);
  if (typeof runDirs === 'number') return runDirs;
  const results = (await controlAll(runDirs, command, flags.pid)).filter((result) => !result.stale);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(snakeCaseKeys(results.map((result) => ({ pid: result.pid, socket: result.socketPath, ...(result.reply ?? {}), ...(result.error ? { error: result.error } : {}) }))), null, 2)}\n`);
  }
  if (results.length === 0) {
    process.stderr.write(`atom-worker ${command}: no running worker found${flags.pid !== undefined ? ` with pid ${flags.pid}` : ''} (looked in ${runDirs.join(', ')})\n`);
    return EX_UNAVAILABLE;
  }
  let failures = 0;
  for (const result of results) {
    if (result.reply?.ok) {
      if (!flags.json) process.stdout.write(`pid ${result.pid}: ${result.reply.status.state} (${plural(result.reply.status.running.length, 'job')} running)\n`);
    } else {
      failures++;
      process.stderr.write(`pid ${result.pid}: ${result.error ?? (result.reply && !result.reply.ok ? result.reply.error : 'no answer')}\n`);
    }
  }
  return failures > 0 ? 1 : 0;
}
