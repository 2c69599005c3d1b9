// The commander program: one file per verb, registered here.
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { EX_USAGE, EXIT_OK } from '../exitCodes.js';
import { registerExec } from './exec.js';
import { registerRun } from './run.js';
import { registerCheck } from './check.js';
import { registerControl } from './control.js';
import { registerJobs } from './jobs.js';
import { registerService } from './service.js';
import { registerStatus } from './status.js';
import { registerSubmit } from './submit.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('atom-worker')
    .description('A Gearman job worker for AtoM: runs AtoM\'s background jobs (DIP ingest, imports, exports, reports).')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Exit codes: 0 success; 1 a job failed, or jobs were abandoned at shutdown; 64 usage error;
66 an input file cannot be read; 69 unavailable (no job server answered, no worker found);
70 internal error (a bug: please report it); 74 journal rows could not be written (run);
75 gave up waiting (submit --timeout);
78 configuration error; 111 a recycling limit was reached (run; a supervisor restarts it).
JSON output (--json) uses snake_case keys throughout.`,
    )
    .exitOverride();
  registerRun(program);
  registerExec(program);
  registerCheck(program);
  registerStatus(program);
  registerSubmit(program);
  registerJobs(program);
  registerControl(program);
  registerService(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors exit 64 (EX_USAGE), already printed by commander.
      process.exitCode = error.exitCode === 0 ? EXIT_OK : EX_USAGE;
      return;
    }
    throw error;
  }
}
