// Helpers for the operations tests: run a CLI verb to completion, start a worker with its journal and
// run dir in a temp folder.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Gearmand } from '../harness/gearmand.js';
import { cliPath, type CommandResult, isConnected, runCommand, type SpawnedWorker, spawnCli, tempDir } from '../harness/worker.js';

export function cli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CommandResult> {
  return runCommand(process.execPath, [cliPath, ...args], { timeoutMs: 30_000, cwd: tempDir(), ...options });
}

/** Whether util-linux `script`, which gives a command a real pseudo-terminal, is installed. */
export function haveScript(): boolean {
  return !spawnSync('script', ['--version']).error;
}

/** Run the CLI with `args` (a shell command line) on a pseudo-terminal; what it wrote there comes back as stdout. */
export function cliOnTerminal(args: string, options: { cwd: string; input?: string }): Promise<CommandResult> {
  return runCommand('script', ['-qec', `${process.execPath} ${cliPath} ${args}`, '/dev/null'], { timeoutMs: 30_000, ...options });
}

export interface OpsWorker {
  readonly worker: SpawnedWorker;
  readonly dir: string;
  readonly journal: string;
  readonly runDir: string;
}

/** A worker in its own temp folder (journal, run dir), registered on the gearmand before this resolves. */
export async function startWorker(
  gearmand: Gearmand,
  options: { dir?: string; args?: readonly string[]; env?: NodeJS.ProcessEnv; waitConnected?: boolean } = {},
): Promise<OpsWorker> {
  const dir = options.dir ?? tempDir();
  const journal = path.join(dir, 'journal.sqlite');
  const runDir = path.join(dir, 'run');
  const worker = spawnCli(
    ['run', '--servers', gearmand.address, '--log-format', 'json', '--journal', journal, '--run-dir', runDir, ...(options.args ?? [])],
    { cwd: dir, env: { XDG_RUNTIME_DIR: '', ...options.env } },
  );
  if (options.waitConnected !== false) await worker.waitForLog(isConnected);
  return { worker, dir, journal, runDir };
}

export async function stopWorker(worker: SpawnedWorker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.kill('SIGTERM');
  await worker.exited;
}
