// The one harness every integration test uses: a real gearmand on a free loopback port below 32768
// (above that, a restarted server's port can collide with a reconnecting client's ephemeral port).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { adminCommand } from '../../src/gearman/admin.js';
import { trackChild } from './cleanup.js';

export interface GearmandOptions {
  /** Use gearmand's SQLite persistent queue in this file (survives kill -9). */
  readonly sqliteQueue?: string;
  readonly port?: number;
  /** Loopback address to listen on: 127.0.0.1 (default) or ::1. */
  readonly listen?: '127.0.0.1' | '::1';
}

export interface Gearmand {
  readonly host: string;
  readonly port: number;
  /** `127.0.0.1:PORT` or `[::1]:PORT`, as written in configs. */
  readonly address: string;
  readonly logFile: string;
  /** Stop gently (SIGTERM) and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill9(): Promise<void>;
  /** Start again on the same port with the same options. */
  restart(): Promise<void>;
  log(): string;
}

class PortTakenError extends Error {}

let gearmandChecked = false;

function assertGearmandInstalled(): void {
  if (gearmandChecked) return;
  const probe = spawnSync('gearmand', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    throw new Error(
      'gearmand is not installed: the integration tests need a real job server. ' +
        'Install the Debian package: apt-get install -y gearman-job-server',
    );
  }
  gearmandChecked = true;
}

const usedPorts = new Set<number>();

/**
 * A port below 32768 that nothing listens on right now. Test files run in parallel processes, and two
 * of them could otherwise both find the same port free, one gearmand failing to bind while its test
 * talks to the other's: each vitest pool (VITEST_POOL_ID) draws from its own slice of 20000..32767.
 */
export async function freeLowPort(): Promise<number> {
  const pool = Number(process.env.VITEST_POOL_ID ?? '0');
  const slices = 6;
  const sliceSize = Math.floor(12768 / slices);
  const base = pool > 0 ? 20000 + ((pool - 1) % slices) * sliceSize : 20000;
  const span = pool > 0 ? sliceSize : 12768;
  for (let tries = 0; tries < 200; tries++) {
    const port = base + Math.floor(Math.random() * span);
    if (usedPorts.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
    });
    if (free) {
      usedPorts.add(port);
      return port;
    }
  }
  throw new Error(`no free port found in ${base}-${base + span - 1}`);
}

/** Resolve once something accepts TCP connections on the port (gearmand has no readiness signal). */
export async function waitForPort(port: number, child: ChildProcess, timeoutMs = 10_000, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`gearmand exited (${child.exitCode ?? child.signalCode}) before listening on ${port}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`gearmand did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startGearmand(options: GearmandOptions = {}): Promise<Gearmand> {
  assertGearmandInstalled();
  let port = options.port ?? (await freeLowPort());
  const dir = mkdtempSync(path.join(tmpdir(), 'atom-worker-gearmand-'));
  const logFile = path.join(dir, 'gearmand.log');
  const host = options.listen ?? '127.0.0.1';
  let child: ChildProcess;

  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--listen', host, '--log-file', logFile, '--verbose', 'INFO'];
    if (options.sqliteQueue) args.push('--queue-type', 'libsqlite3', '--libsqlite3-db', options.sqliteQueue);
    child = trackChild(spawn('gearmand', args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    child.stderr?.resume();
    await waitForPort(port, child, 10_000, host);
    // Something answering on the port is not proof it is ours: another test run's gearmand may hold it.
    const [answer] = await adminCommand({ host, port }, 'getpid');
    if (answer !== `OK ${child.pid}`) {
      child.kill('SIGKILL');
      throw new PortTakenError(`port ${port} is served by another gearmand (${answer ?? 'no answer'}), not ours (pid ${child.pid})`);
    }
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await launch();
      break;
    } catch (error) {
      if (!(error instanceof PortTakenError) || options.port !== undefined || attempt >= 4) throw error;
      port = await freeLowPort();
    }
  }

  const handle: Gearmand = {
    host,
    port,
    address: host === '::1' ? `[::1]:${port}` : `127.0.0.1:${port}`,
    logFile,
    async stop() {
      child.kill('SIGTERM');
      await waitForExit(child);
    },
    async kill9() {
      child.kill('SIGKILL');
      await waitForExit(child);
    },
    async restart() {
      await launch();
    },
    log() {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
  const stop = handle.stop;
  handle.stop = async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return handle;
}

/**
 * libgearman's own worker (`gearman -w -f FN -- command…`), standing in for another site's worker
 * (AtoM's PHP one): each job's payload goes to the command's stdin. Resolves once gearmand lists
 * it as a worker for the function.
 */
export async function startCliWorker(port: number, fn: string, command: readonly string[], timeoutMs = 10_000): Promise<ChildProcess> {
  const child = trackChild(spawn('gearman', ['-w', '-h', '127.0.0.1', '-p', String(port), '-f', fn, '--', ...command], { stdio: 'ignore' }));
  const deadline = Date.now() + timeoutMs;
  // Registration shows only in gearmand's `status`: asked until it does.
  for (;;) {
    const status = await adminCommand({ host: '127.0.0.1', port }, 'status');
    if (status.some((line) => { const [name, , , workers] = line.split('\t'); return name === fn && Number(workers) > 0; })) return child;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gearman -w -f ${fn} did not register within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
