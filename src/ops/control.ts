// The local control channel: each running worker listens on a unix stream socket in the run dir,
// `atom-worker-PID.sock` (directory 0700, socket 0600: only the worker's own user may talk to it).
// One JSON request line, one JSON answer line: `status`, `quiet`, `resume`.
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import type { WorkerState } from '../runtime/events.js';
import { installedServiceRunDirs } from './serviceLocations.js';

export type ControlCommand = 'status' | 'quiet' | 'resume';

export interface LocalWorkerStatus {
  readonly pid: number;
  readonly clientId: string;
  readonly version: string;
  readonly state: WorkerState;
  readonly concurrency: number;
  readonly startedAt: number;
  readonly connectedServers: readonly string[];
  readonly servers: readonly string[];
  readonly jobsStarted: number;
  /** AtoM job row updates waiting for the database; absent when AtoM's database is not configured. */
  readonly atomBacklog?: number;
  readonly running: ReadonlyArray<{ slot: number; function: string; handle: string; startedAt: number; ageS: number }>;
}

export interface ControlTarget {
  status(): LocalWorkerStatus;
  quiet(): void;
  resume(): void;
}

const SOCKET_PREFIX = 'atom-worker-';
const SOCKET_SUFFIX = '.sock';

/**
 * The directories a worker may have put its socket in: the configured one, then
 * $XDG_RUNTIME_DIR/atom-worker; for the verbs that look for workers (`withServices`), also an
 * installed service's run folder.
 */
export function runDirCandidates(runDir: string, environment: NodeJS.ProcessEnv = process.env, withServices = false): string[] {
  const candidates = [path.resolve(runDir)];
  if (environment.XDG_RUNTIME_DIR) candidates.push(path.join(environment.XDG_RUNTIME_DIR, 'atom-worker'));
  if (withServices) candidates.push(...installedServiceRunDirs(environment));
  return [...new Set(candidates)];
}

export function socketPathFor(runDir: string, pid: number): string {
  return path.join(runDir, `${SOCKET_PREFIX}${pid}${SOCKET_SUFFIX}`);
}

/**
 * Create the run dir owner-only, or accept an existing one only if it is a real folder (not a
 * symlink) owned by this user, tightened to 0700: whoever owns the folder can remove the socket.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (stat.isSymbolicLink()) throw new Error(`${dir} is a symbolic link; a run folder must be a real folder`);
  if (!stat.isDirectory()) throw new Error(`${dir} is not a folder`);
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) throw new Error(`${dir} belongs to uid ${stat.uid}, not to this user (uid ${process.getuid()})`);
  if ((stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

export interface ControlServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

export async function startControlServer(runDirs: readonly string[], target: ControlTarget, log: Logger): Promise<ControlServer> {
  const errors: string[] = [];
  for (const dir of runDirs) {
    try {
      ensurePrivateDir(dir);
      const socketPath = socketPathFor(dir, process.pid);
      if (existsSync(socketPath)) unlinkSync(socketPath);
      const server = net.createServer((socket) => serveConnection(socket, target, log));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // The directory is 0700 already; the umask keeps the socket from ever being wider than 0600.
        const previous = process.umask(0o177);
        try {
          server.listen(socketPath, () => {
            server.off('error', reject);
            resolve();
          });
        } finally {
          process.umask(previous);
        }
      });
      chmodSync(socketPath, 0o600);
      server.unref();
      return {
        socketPath,
        close: () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            try {
              unlinkSync(socketPath);
            } catch {
              // already gone
            }
          }),
      };
    } catch (error) {
      errors.push(`${dir}: ${(error as Error).message}`);
    }
  }
  throw new Error(`no usable run dir for the control socket (${errors.join('; ')})`);
}

function serveConnection(socket: net.Socket, target: ControlTarget, log: Logger): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.setTimeout(5000, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > 4096) {
      socket.destroy();
      return;
    }
    const newline = buffered.indexOf('\n');
    if (newline === -1) return;
    let answer: unknown;
    try {
      const request = JSON.parse(buffered.slice(0, newline)) as { command?: unknown };
      switch (request.command) {
        case 'status':
          answer = { ok: true, status: target.status() };
          break;
        case 'quiet':
          log.info('quiet requested over the control socket: not taking new jobs until resumed');
          target.quiet();
          answer = { ok: true, status: target.status() };
          break;
        case 'resume':
          log.info('resume requested over the control socket: taking jobs again');
          target.resume();
          answer = { ok: true, status: target.status() };
          break;
        default:
          answer = { ok: false, error: `unknown command ${JSON.stringify(request.command)}` };
      }
    } catch (error) {
      answer = { ok: false, error: (error as Error).message };
    }
    socket.end(`${JSON.stringify(answer)}\n`);
  });
}

/** Every control socket in the run dirs, with the pid in its name. */
function findControlSockets(runDirs: readonly string[]): Array<{ pid: number; socketPath: string }> {
  const found: Array<{ pid: number; socketPath: string }> = [];
  for (const dir of runDirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.startsWith(SOCKET_PREFIX) || !name.endsWith(SOCKET_SUFFIX)) continue;
      const pid = name.slice(SOCKET_PREFIX.length, -SOCKET_SUFFIX.length);
      if (/^\d+$/.test(pid)) found.push({ pid: Number(pid), socketPath: path.join(dir, name) });
    }
  }
  return found.sort((a, b) => a.pid - b.pid);
}

export type ControlReply = { ok: true; status: LocalWorkerStatus } | { ok: false; error: string };

/** Send one command to one worker. Rejects with code ECONNREFUSED/ENOENT for a stale socket. */
function sendControl(socketPath: string, command: ControlCommand, timeoutMs = 5000): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${socketPath}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ command })}\n`));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(text) as ControlReply);
      } catch {
        reject(new Error(`${socketPath}: unreadable answer`));
      }
    });
  });
}

export interface ControlResult {
  readonly pid: number;
  readonly socketPath: string;
  readonly reply?: ControlReply;
  readonly error?: string;
  /** The socket was left by a process that is gone (and was removed). */
  readonly stale?: boolean;
}

/** Send a command to every worker found (or the one with `pid`); stale sockets are removed. */
export async function controlAll(runDirs: readonly string[], command: ControlCommand, pid?: number): Promise<ControlResult[]> {
  const sockets = findControlSockets(runDirs).filter((entry) => pid === undefined || entry.pid === pid);
  return Promise.all(
    sockets.map(async (entry): Promise<ControlResult> => {
      try {
        return { ...entry, reply: await sendControl(entry.socketPath, command) };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ECONNREFUSED' || code === 'ENOENT') {
          try {
            unlinkSync(entry.socketPath);
          } catch {
            // someone else removed it
          }
          return { ...entry, stale: true, error: 'stale socket (worker gone); removed' };
        }
        return { ...entry, error: (error as Error).message };
      }
    }),
  );
}
