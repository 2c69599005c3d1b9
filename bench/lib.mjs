// Shared pieces of the benchmarks: prerequisites, the C load generator, gearmand, workers, the admin
// protocol, /proc memory readings and statistics. Everything runs on 127.0.0.1 only.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const OUT = path.join(ROOT, 'bench', 'out');
export const LOADGEN = path.join(OUT, 'loadgen');
const BIN = path.join(ROOT, 'bin', 'atom-worker');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- prerequisites ------------------------------------------------------------------------------

const INSTALL_HINT = 'apt-get install -y gearman-job-server gearman-tools libgearman-dev';

function have(command, args = ['--version']) {
  const probe = spawnSync(command, args, { encoding: 'utf8' });
  return probe.error === undefined;
}

/** Check for gearmand, the gearman CLI (the C reference worker), a C compiler and libgearman; build the loadgen. */
export function prepareTools() {
  const missing = [];
  if (!have('gearmand')) missing.push('gearmand (package gearman-job-server)');
  if (!have('gearman', ['-H'])) missing.push('gearman, the CLI with the C reference worker (package gearman-tools)');
  if (!have('gearadmin', ['--help'])) missing.push('gearadmin (package gearman-tools)');
  if (!have('cc')) missing.push('a C compiler: cc (package gcc)');
  if (missing.length === 0 && !compileLoadgen()) missing.push('libgearman headers and library (package libgearman-dev)');
  if (missing.length > 0) {
    console.error(`bench: missing prerequisites:\n${missing.map((m) => `  - ${m}`).join('\n')}\nInstall them with:\n  ${INSTALL_HINT}`);
    process.exit(1);
  }
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'index.js'))) {
    console.error('bench: dist/ is missing; run `npm run bench` (it builds first) or `npx tsc -p .`');
    process.exit(1);
  }
}

function compileLoadgen() {
  mkdirSync(OUT, { recursive: true });
  const result = spawnSync('cc', ['-O2', '-pthread', path.join(ROOT, 'bench', 'c', 'loadgen.c'), '-lgearman', '-o', LOADGEN], { encoding: 'utf8' });
  if (result.status !== 0) {
    console.error(result.stderr);
    return false;
  }
  return true;
}

export function versions() {
  const gearmand = spawnSync('gearmand', ['--version'], { encoding: 'utf8' }).stdout.trim().split(/\s+/).slice(0, 2).join(' ');
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? 'unknown';
  const cores = readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((line) => line.startsWith('processor')).length;
  const memGiB = Math.round(Number((readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s*(\d+)/) ?? [])[1] ?? 0) / 1024 / 1024);
  return { node: process.version, gearmand, cpu, cores, memGiB, libgearman: libgearmanVersion() };
}

function libgearmanVersion() {
  const header = '/usr/include/libgearman-1.0/version.h';
  if (!existsSync(header)) return 'unknown';
  return (readFileSync(header, 'utf8').match(/LIBGEARMAN_VERSION_STRING\s+"([^"]+)"/) ?? [])[1] ?? 'unknown';
}

// ---- processes ----------------------------------------------------------------------------------

const children = new Set();
function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Stop whatever we started (by PID) if the bench is interrupted. */
export function killAll() {
  for (const child of children) child.kill('SIGKILL');
}
process.once('SIGINT', () => {
  killAll();
  process.exit(130);
});

function waitExit(child, timeoutMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function stop(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await waitExit(child);
}

const usedPorts = new Set();
/** A port in 20000..32767 that nothing listens on (above 32767 a restarted server may collide with ephemeral ports). */
async function freeLowPort() {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20000 + Math.floor(Math.random() * 12767);
    if (usedPorts.has(port)) continue;
    const free = await new Promise((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
    });
    if (free) {
      usedPorts.add(port);
      return port;
    }
  }
  throw new Error('no free port in 20000-32767');
}

async function waitForPort(port, child) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gearmand exited (${child.exitCode}) before listening`);
    const ok = await new Promise((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`gearmand did not listen on ${port}`);
    await sleep(10);
  }
}

/** A fresh gearmand (default options: in-memory queue, 4 I/O threads) on a free loopback port. */
export async function startGearmand() {
  const port = await freeLowPort();
  mkdirSync(path.join(OUT, 'logs'), { recursive: true });
  const logFile = path.join(OUT, 'logs', `gearmand-${port}.log`);
  const child = track(spawn('gearmand', ['--port', String(port), '--listen', '127.0.0.1', '--log-file', logFile, '--verbose', 'ERROR'], { stdio: 'ignore' }));
  await waitForPort(port, child);
  return {
    port,
    pid: child.pid,
    async stop() {
      await stop(child);
      rmSync(logFile, { force: true });
    },
  };
}

/** libgearman's C echo worker: `gearman -w -f NAME` (one connection, one job at a time). */
export async function startCWorker(port, fn = 'echo', { waitReady = true } = {}) {
  const child = track(spawn('gearman', ['-h', '127.0.0.1', '-p', String(port), '-w', '-f', fn], { stdio: ['ignore', 'ignore', 'ignore'] }));
  const worker = { child, pid: child.pid, spawnedAt: performance.now(), stop: () => stop(child) };
  if (waitReady) await waitRegistered(port, fn, 1);
  return worker;
}

/**
 * atom-worker through its CLI (`bin/atom-worker run`), JSON logs at info level to a file, working
 * directory bench/out/cwd-* (so no config/gearman.yml is picked up unless `config` is given).
 */
export async function startAtomWorker(port, { concurrency = 1, jobs = [], abilities, config, fn = 'atomWorkerTest', nodeArgs = [], args: extraArgs = [], waitReady = true, logLevel = 'info', keepLog = false } = {}) {
  const cwd = path.join(OUT, `cwd-${port}`);
  mkdirSync(cwd, { recursive: true });
  const args = [...nodeArgs, BIN, 'run', '--servers', `127.0.0.1:${port}`, '--concurrency', String(concurrency), '--log-level', logLevel, '--log-format', 'json'];
  for (const dir of jobs) args.push('--jobs', dir);
  if (abilities) args.push('--abilities', abilities);
  if (config) args.push('--config', config);
  args.push(...extraArgs);
  const logFile = path.join(cwd, 'worker.log');
  const fd = openSync(logFile, 'w');
  const spawnedAt = performance.now();
  const child = track(spawn(process.execPath, args, { cwd, stdio: ['ignore', fd, fd] }));
  closeSync(fd);
  const worker = {
    child,
    pid: child.pid,
    spawnedAt,
    logFile,
    async stop() {
      await stop(child);
      if (!keepLog) rmSync(cwd, { recursive: true, force: true });
      return child.exitCode;
    },
  };
  if (waitReady) await waitRegistered(port, fn, concurrency, child);
  return worker;
}

// ---- admin protocol -----------------------------------------------------------------------------

/** A persistent admin-protocol connection (text commands, answers end with "."). */
export async function adminConnection(port) {
  const socket = net.connect({ port, host: '127.0.0.1' });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.setNoDelay(true);
  let buffer = '';
  let waiter;
  socket.on('data', (chunk) => {
    buffer += chunk.toString('latin1');
    const end = buffer.indexOf('\n.\n');
    const endEmpty = buffer.startsWith('.\n') ? 0 : -1;
    const cut = endEmpty === 0 ? 2 : end >= 0 ? end + 3 : -1;
    if (cut >= 0 && waiter) {
      const text = buffer.slice(0, cut);
      buffer = buffer.slice(cut);
      const resolve = waiter;
      waiter = undefined;
      resolve(text);
    }
  });
  const command = (line) =>
    new Promise((resolve) => {
      waiter = resolve;
      socket.write(`${line}\n`);
    });
  return {
    command,
    /** `status`: function -> { queued (total), running, workers }. */
    async status() {
      const text = await command('status');
      const result = {};
      for (const line of text.split('\n')) {
        const [name, total, running, workers] = line.split('\t');
        if (name && total !== undefined) result[name] = { total: Number(total), running: Number(running), workers: Number(workers) };
      }
      return result;
    },
    close: () => socket.destroy(),
  };
}

/** Resolve once `count` connections have registered `fn` (admin `status`, polled every 2 ms). */
export async function waitRegistered(port, fn, count, child, timeoutMs = 20_000) {
  const admin = await adminConnection(port);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const status = await admin.status();
      if ((status[fn]?.workers ?? 0) >= count) return performance.now();
      if (child && child.exitCode !== null) throw new Error(`worker exited (${child.exitCode}) before registering ${fn}`);
      if (Date.now() > deadline) throw new Error(`${fn}: ${count} workers not registered within ${timeoutMs} ms`);
      await sleep(2);
    }
  } finally {
    admin.close();
  }
}

// ---- load generator -----------------------------------------------------------------------------

/** Run bench/out/loadgen; resolves with its JSON summary. */
export function loadgen(port, fn, { threads = 1, window = 1, jobs = 1000, payload, background = false, gapMs = 0, stamp = false } = {}) {
  const args = ['-p', String(port), '-f', fn, '-t', String(threads), '-w', String(window), '-n', String(jobs)];
  if (payload !== undefined) args.push('-d', payload);
  if (background) args.push('-b');
  if (gapMs > 0) args.push('-g', String(gapMs));
  if (stamp) args.push('-x');
  return new Promise((resolve, reject) => {
    const child = track(spawn(LOADGEN, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      try {
        const result = JSON.parse(out);
        if (code !== 0) reject(new Error(`loadgen ${args.join(' ')} exited ${code}: ${out} ${err}`));
        else resolve(result);
      } catch {
        reject(new Error(`loadgen ${args.join(' ')} exited ${code}: ${out} ${err}`));
      }
    });
  });
}

// ---- measurements -------------------------------------------------------------------------------

/** VmRSS and VmHWM (peak) of a live process, in MiB. */
export function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number((status.match(new RegExp(`${field}:\\s*(\\d+)`)) ?? [])[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Spread of repetitions, as (max - min) / median, in %. */
export function spread(values) {
  const m = median(values);
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length < 2 || !m) return 0;
  return ((Math.max(...finite) - Math.min(...finite)) / m) * 100;
}

/** Seconds of CPU this process tree used so far (utime + stime of a live pid, from /proc). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}
