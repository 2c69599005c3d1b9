// The journal's own per-job cost, driving the worker observer directly with synthetic job events
// (no gearmand, no sockets): jobStarted + refuseJob + jobEnded per job, K jobs in flight, the
// writer's own batch timer doing the flushes. Two measures:
//   paced: jobs issued at RATE jobs/s in 5 ms ticks; process CPU time (user + sys, all threads:
//          SQLite, GC) per job, minus the same loop with no observer. What the worker pays.
//   tight: as fast as possible, flush() every RATE/20 jobs (≈ one 50 ms batch); wall time per job.
// The journal starts with PREFILL ended rows (a journal in use is not empty; the lookups get deeper).
// Unique keys are sequential (`u-N`) or, with uniques=uuid, random UUIDs as libgearman clients send when
// given none: those land on a random page of the unique-key index per row, which costs far more.
// Usage: npx tsc -p . && node bench/journal/micro.mjs [jobs=40000] [rounds=5] [rate=8000] [inflight=32] [prefill=200000] [module dir=dist/src/journal] [uniques=seq|uuid]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const JOBS = Number(process.argv[2] ?? 40_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const RATE = Number(process.argv[4] ?? 8000);
const INFLIGHT = Number(process.argv[5] ?? 32);
const PREFILL = Number(process.argv[6] ?? 200_000);
const MODULES = path.resolve(ROOT, process.argv[7] ?? 'dist/src/journal');
const UUID = process.argv[8] === 'uuid';
const uniqueOf = UUID ? () => randomUUID() : (i) => `u-${i}`;
const { JournalWriter } = await import(path.join(MODULES, 'writer.js'));
const { openJournalDatabase } = await import(path.join(MODULES, 'database.js'));
const { journalObserver } = await import(path.join(MODULES, 'observer.js'));
const dir = mkdtempSync(path.join(tmpdir(), 'atom-worker-bench-journal-micro-'));
const silent = pino({ level: 'silent' });
let fileNo = 0;

function prefilled() {
  const file = path.join(dir, `j-${fileNo++}.sqlite`);
  const db = openJournalDatabase(file);
  const insert = db.prepare(
    "INSERT INTO jobs (handle, unique_key, function, worker_id, host, pid, server, attempt, status, started_at, ended_at, duration_ms, payload_bytes, result_bytes) VALUES (?, ?, 'fn', 'w', 'h', 1, 's', 1, 'completed', ?, ?, 1, 10, 3)",
  );
  db.transaction(() => {
    for (let i = 0; i < PREFILL; i++) insert.run(`H:old:${i}`, UUID ? randomUUID() : `old-${i}`, i, i + 1);
  })();
  db.close();
  return file;
}

function makeEvent(i) {
  // As the worker builds it: a fresh object per job.
  return { info: { handle: `H:bench:${i}`, unique: uniqueOf(i), function: 'fn', name: 'fn' }, server: '127.0.0.1:4730', slot: i % INFLIGHT, payloadBytes: 10, startedAt: Date.now() };
}

/** One job step: end the oldest in-flight job, start a new one. */
function stepper(observer) {
  const ring = new Array(INFLIGHT);
  let i = 0;
  return (count) => {
    for (let n = 0; n < count; n++, i++) {
      const slot = i % INFLIGHT;
      const old = ring[slot];
      if (old !== undefined && observer) observer.jobEnded(old, 'completed', 1, { resultBytes: 3 });
      const event = makeEvent(i);
      ring[slot] = event;
      if (observer) {
        observer.jobStarted(event);
        observer.refuseJob(event);
      }
    }
  };
}

async function paced(withJournal) {
  const file = withJournal ? prefilled() : undefined;
  const writer = withJournal ? new JournalWriter({ file }) : undefined;
  const observer = writer ? journalObserver({ writer, log: silent, workerId: () => 'w', maxAttempts: 3 }) : undefined;
  const step = stepper(observer);
  const perTick = Math.max(1, Math.round(RATE / 200));
  // Warm up (JIT, page cache) before measuring.
  step(2000);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const cpu0 = process.cpuUsage();
  let done = 0;
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      step(perTick);
      done += perTick;
      if (done >= JOBS) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  // Let the last batch flush inside the measured window.
  await new Promise((resolve) => setTimeout(resolve, 120));
  const cpu = process.cpuUsage(cpu0);
  writer?.close();
  return (cpu.user + cpu.system) / done;
}

function tight() {
  const writer = new JournalWriter({ file: prefilled(), flushIntervalMs: 3_600_000 });
  const observer = journalObserver({ writer, log: silent, workerId: () => 'w', maxAttempts: 3 });
  const step = stepper(observer);
  const batch = Math.max(1, Math.round(RATE / 20));
  step(2000);
  writer.flush();
  const t0 = performance.now();
  for (let done = 0; done < JOBS; done += batch) {
    step(batch);
    writer.flush();
  }
  const us = ((performance.now() - t0) * 1000) / JOBS;
  // Sanity: every job is journalled.
  writer.close();
  return us;
}

function tightBare() {
  const step = stepper(undefined);
  step(2000);
  const t0 = performance.now();
  step(JOBS);
  return ((performance.now() - t0) * 1000) / JOBS;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
try {
  const pacedWith = [];
  const pacedWithout = [];
  const tightWith = [];
  const tightWithout = [];
  for (let r = 0; r < ROUNDS; r++) {
    pacedWithout.push(await paced(false));
    pacedWith.push(await paced(true));
    tightWithout.push(tightBare());
    tightWith.push(tight());
  }
  const fmt = (values) => values.map((v) => v.toFixed(1)).join(' ');
  console.log(`modules: ${path.relative(ROOT, MODULES)}; uniques ${UUID ? 'uuid' : 'seq'}; jobs ${JOBS}, rounds ${ROUNDS}, rate ${RATE}/s, in flight ${INFLIGHT}, prefill ${PREFILL}`);
  console.log(`paced CPU µs/job: with ${fmt(pacedWith)} | without ${fmt(pacedWithout)} → journal ${(median(pacedWith) - median(pacedWithout)).toFixed(1)} µs/job (median)`);
  console.log(`tight wall µs/job: with ${fmt(tightWith)} | without ${fmt(tightWithout)} → journal ${(median(tightWith) - median(tightWithout)).toFixed(1)} µs/job (median)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
