// Does the job journal slow the hot path? Runs N small jobs through a real gearmand and worker with
// and without the journal (alternating rounds), and times the writer's own per-job cost in-process.
// Usage: npx tsc -p . && node bench/journal/run.mjs [jobs=3000] [rounds=3] [inflight=32]
// Everything runs on 127.0.0.1 and stops by itself.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { GearmanClient } = await import(path.join(ROOT, 'dist/src/gearman/client.js'));
const { JournalWriter } = await import(path.join(ROOT, 'dist/src/journal/writer.js'));

const JOBS = Number(process.argv[2] ?? 3000);
const ROUNDS = Number(process.argv[3] ?? 3);
const INFLIGHT = Number(process.argv[4] ?? 32);
const dir = mkdtempSync(path.join(tmpdir(), 'atom-worker-bench-journal-'));

async function freePort() {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const free = await new Promise((resolve) => {
      const server = net.createServer().once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

async function waitForPort(port) {
  for (let tries = 0; tries < 500; tries++) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`nothing listens on ${port}`);
}

function startWorker(port, journalArgs) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/atom-worker'), 'run', '--servers', `127.0.0.1:${port}`, '--log-level', 'warn', '--log-format', 'json', '--abilities', 'atomWorkerTest', '--run-dir', path.join(dir, 'run'), ...journalArgs], {
    stdio: ['ignore', 'ignore', 'inherit'],
    cwd: dir,
  });
  return child;
}

async function waitForWorker(client) {
  // The first job answered means the worker is registered.
  await client.submit('atomWorkerTest', '{"echo":0}');
}

async function round(port, journalArgs) {
  const worker = startWorker(port, journalArgs);
  const client = new GearmanClient([{ host: '127.0.0.1', port }]);
  await waitForWorker(client);
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < JOBS) {
      next++;
      const outcome = await client.submit('atomWorkerTest', '{"echo":"x"}');
      if (outcome.status !== 'complete') throw new Error(`job ${outcome.status}`);
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, lane));
  const seconds = (performance.now() - started) / 1000;
  client.close();
  worker.kill('SIGTERM');
  await new Promise((resolve) => worker.once('exit', resolve));
  return JOBS / seconds;
}

function microbench() {
  const writer = new JournalWriter({ file: path.join(dir, 'micro.sqlite') });
  const n = 20_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const ref = writer.start(`H:b:${i}`, `u-${i}`, 'fn', 'w', 's', Date.now(), 10);
    writer.end(ref, 'completed', Date.now(), 1, undefined, 3);
    if (i % 100 === 99) writer.flush();
  }
  const hot = performance.now() - t0;
  writer.close();
  return { perJobUs: (hot * 1000) / n };
}

const gearmandPort = await freePort();
const gearmand = spawn('gearmand', ['--port', String(gearmandPort), '--listen', '127.0.0.1', '--log-file', path.join(dir, 'gearmand.log')], { stdio: 'ignore' });
try {
  await waitForPort(gearmandPort);
  const without = [];
  const withJournal = [];
  for (let r = 0; r < ROUNDS; r++) {
    without.push(await round(gearmandPort, ['--no-journal']));
    withJournal.push(await round(gearmandPort, ['--journal', path.join(dir, `journal-${r}.sqlite`)]));
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const micro = microbench();
  console.log(`jobs per round: ${JOBS}, in flight: ${INFLIGHT}, rounds: ${ROUNDS}`);
  console.log(`without journal: ${without.map((v) => v.toFixed(0)).join(', ')} jobs/s (median ${median(without).toFixed(0)})`);
  console.log(`with journal:    ${withJournal.map((v) => v.toFixed(0)).join(', ')} jobs/s (median ${median(withJournal).toFixed(0)})`);
  console.log(`ratio with/without: ${(median(withJournal) / median(without)).toFixed(3)}`);
  console.log(`writer cost in-process (start + end + batched flush): ${micro.perJobUs.toFixed(1)} µs per job`);
} finally {
  gearmand.kill('SIGTERM');
  await new Promise((resolve) => gearmand.once('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
}
