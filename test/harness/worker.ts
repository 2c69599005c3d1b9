// Spawn the real CLI (`bin/atom-worker`, built by `npm test`) as a child and follow its JSON log lines.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackChild, trackDir } from './cleanup.js';

/** The checkout: the nearest folder above this file with a package.json (the benchmarks run a compiled copy under dist/). */
export const repoRoot = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();
export const cliPath = path.join(repoRoot, 'bin', 'atom-worker');

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export interface SpawnedWorker {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly lines: LogLine[];
  /** Raw stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolve with the first log line (already seen or future) matching `predicate`. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolve when `count` lines match. */
  waitForLogs(predicate: (line: LogLine) => boolean, count: number, timeoutMs?: number): Promise<LogLine[]>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export interface SpawnOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export function spawnCli(args: readonly string[], options: SpawnOptions = {}): SpawnedWorker {
  return spawnNode(cliPath, args, options);
}

/** Run a Node script (the CLI, or a program of a test's own); its JSON lines parsed, other lines as `{ text }`. */
export function spawnNode(script: string, args: readonly string[], options: SpawnOptions = {}): SpawnedWorker {
  const child = trackChild(
    spawn(process.execPath, [script, ...args], {
      // A fresh working directory: the worker's default journal and run dir (var/) stay out of the repo.
      cwd: options.cwd ?? tempDir(),
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const lines: LogLine[] = [];
  let stdout = '';
  let stderr = '';
  let partial = '';
  const waiters: Array<{ predicate: (line: LogLine) => boolean; count: number; found: LogLine[]; resolve: (lines: LogLine[]) => void }> = [];
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
    partial += chunk;
    let newline: number;
    while ((newline = partial.indexOf('\n')) !== -1) {
      const text = partial.slice(0, newline);
      partial = partial.slice(newline + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { text };
      }
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiter.found.push(line);
          if (waiter.found.length >= waiter.count) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(waiter.found);
          }
        }
      }
    }
  });
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });

  const waitForLogs = (predicate: (line: LogLine) => boolean, count: number, timeoutMs = 15_000): Promise<LogLine[]> => {
    const found = lines.filter(predicate);
    if (found.length >= count) return Promise.resolve(found.slice(0, count));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} matching log lines (saw ${found.length}).\nstdout:\n${stdout.slice(-3000)}\nstderr:\n${stderr.slice(-2000)}`));
      }, timeoutMs);
      const waiter = {
        predicate,
        count,
        found,
        resolve: (result: LogLine[]) => {
          clearTimeout(timer);
          resolve(result);
        },
      };
      waiters.push(waiter);
      void exited.then(() => {
        if (waiters.includes(waiter)) {
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`worker exited while waiting for log lines.\nstdout:\n${stdout.slice(-3000)}\nstderr:\n${stderr.slice(-2000)}`));
        }
      });
    });
  };

  return {
    child,
    pid: child.pid!,
    lines,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForLogs,
    waitForLog: async (predicate, timeoutMs) => (await waitForLogs(predicate, 1, timeoutMs))[0]!,
    exited,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
  };
}

/** A server has at least one registered connection once this line has appeared for it. */
export const isConnected = (line: LogLine): boolean => typeof line.msg === 'string' && line.msg.includes('connected to job server');

/** Every slot is registered on every server. */
export const isFullyRegistered = (line: LogLine): boolean => line.msg === 'registered on every connection';

/** A temp folder with files written from a name → content map. */
export function tempDir(files: Record<string, string> = {}, prefix = 'atom-worker-test-'): string {
  const dir = trackDir(mkdtempSync(path.join(tmpdir(), prefix)));
  for (const [name, content] of Object.entries(files)) {
    const full = path.join(dir, name);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return dir;
}


export interface CommandResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Run a command without blocking this process's event loop (spawnSync would stop us draining a spawned
 * worker's stdout pipe, and a worker blocked on a full pipe serves nothing).
 */
export function runCommand(command: string, args: readonly string[], options: { input?: string; timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), options.timeoutMs) : undefined;
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    // A command that exits without reading its input must not fail the test with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** libgearman's own command-line client (`gearman`, Debian package gearman-tools). */
export function gearmanCli(port: number, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return runCommand('gearman', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeoutMs: 30_000, ...options }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new Error("libgearman's client `gearman` is missing: apt-get install -y gearman-tools");
    throw error;
  });
}
