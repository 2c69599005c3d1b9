#!/usr/bin/env node
// Idle RSS and start-up of `atom-worker run` with default flags (journal on, no metrics port, built-in
// jobs), JSON logs to a pipe, connected to a fresh gearmand. Medians over N runs.
//   node bench/idle.mjs [reps=5] [extra run args...]   (ATOM_WORKER_BIN: another build, IDLE_WAIT_MS: when to read RSS, default 1500)
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { OUT, ROOT, median, memoryOf, prepareTools, sleep, startGearmand, waitRegistered } from './lib.mjs';

const [reps = '5', ...extra] = process.argv.slice(2);
prepareTools();
const BIN = process.env.ATOM_WORKER_BIN ?? path.join(ROOT, 'bin', 'atom-worker');
const rss = [];
const ready = [];
const heap = [];
for (let i = 0; i < Number(reps); i++) {
  const gearmand = await startGearmand();
  const cwd = path.join(OUT, `idle-${gearmand.port}`);
  mkdirSync(cwd, { recursive: true });
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [BIN, 'run', '--servers', `127.0.0.1:${gearmand.port}`, '--log-format', 'json', ...extra], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  try {
    const at = await waitRegistered(gearmand.port, 'atomWorkerTest', 1, child);
    ready.push(at - spawnedAt);
    await sleep(Number(process.env.IDLE_WAIT_MS ?? 1500));
    rss.push(memoryOf(child.pid).rssMiB);
  } catch (error) {
    console.error(out);
    throw error;
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await gearmand.stop();
    rmSync(cwd, { recursive: true, force: true });
  }
}
const fmt = (values) => values.map((v) => v.toFixed(1)).join(' ');
console.log(`idle RSS MiB: median ${median(rss).toFixed(1)} [${fmt(rss)}]`);
console.log(`ms to registered: median ${median(ready).toFixed(0)} [${fmt(ready)}]`);
