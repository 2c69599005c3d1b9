#!/usr/bin/env node
// `npm run bench`: atom-worker against libgearman's C worker (`gearman -w -f NAME`), in the same run.
// Every measurement starts its own gearmand on a free loopback port, runs, and stops everything.
// Prints a markdown table of medians over the repetitions, with ratios to the C worker.
//
//   node bench/run.mjs [--reps N] [--only throughput,drain,pickup,memory,startup,dip,dipatom] [--quick]
//
// Load comes from bench/c/loadgen.c (compiled here against libgearman): threads, each with its own
// gearman_client, keeping a sliding window of jobs in flight. Raw results go to bench/out/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  OUT,
  ROOT,
  adminConnection,
  cpuSeconds,
  killAll,
  loadgen,
  median,
  memoryOf,
  prepareTools,
  sleep,
  spread,
  startAtomWorker,
  startCWorker,
  startGearmand,
  versions,
  waitRegistered,
} from './lib.mjs';

const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes('--quick');
const REPS = Number(flag('reps') ?? 3);
const ONLY = (flag('only') ?? 'throughput,drain,pickup,memory,startup,dip,dipatom').split(',');
const PAYLOAD = '{"echo":"abcde"}'; // 16 bytes of JSON; the C worker echoes it, atomWorkerTest returns "abcde"
if (Buffer.byteLength(PAYLOAD) !== 16) throw new Error('payload must be 16 bytes');
const FN = 'atomWorkerTest';
const BENCH_JOBS = path.join(ROOT, 'bench', 'jobs');
const N = {
  warmup: quick ? 1000 : 3000,
  inflight1: quick ? 1500 : 4000,
  inflight64: quick ? 15_000 : 40_000,
  drain: quick ? 10_000 : 50_000,
  pickup: quick ? 100 : 200,
  memory: quick ? 50_000 : 200_000,
};
const LOAD = {
  one: { threads: 1, window: 1, label: '1 in flight (1 client, window 1)' },
  many: { threads: 4, window: 16, label: '64 in flight (4 clients × window 16)' },
};

prepareTools();
mkdirSync(OUT, { recursive: true });
const machine = versions();

/** key -> { scenario, subject, metric, unit, values[], better, baseline?, target? } */
const rows = new Map();
function record(scenario, subject, metric, unit, value, extra = {}) {
  const key = `${scenario}|${subject}|${metric}`;
  if (!rows.has(key)) rows.set(key, { scenario, subject, metric, unit, values: [], ...extra });
  rows.get(key).values.push(value);
  return key;
}
const log = (...parts) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...parts);

const SUBJECTS = {
  c: { label: 'C `gearman -w`', start: (port) => startCWorker(port, FN) },
  atom1: { label: 'atom-worker c=1', start: (port) => startAtomWorker(port, { concurrency: 1, abilities: FN }) },
  atom8: { label: 'atom-worker c=8', start: (port) => startAtomWorker(port, { concurrency: 8, abilities: FN }) },
  // Not a target row: shows what the job journal (on by default) costs per job.
  atom8nj: { label: 'atom-worker c=8 --no-journal', start: (port) => startAtomWorker(port, { concurrency: 8, abilities: FN, args: ['--no-journal'] }) },
};

/** One subject on a fresh gearmand: warm-up, then each load in turn; jobs/s, latencies and worker CPU per job. */
async function throughputRun(subjectKey) {
  const subject = SUBJECTS[subjectKey];
  const gearmand = await startGearmand();
  const worker = await subject.start(gearmand.port);
  try {
    await loadgen(gearmand.port, FN, { ...LOAD.many, jobs: N.warmup, payload: PAYLOAD });
    for (const [loadKey, load] of [
      ['many', LOAD.many],
      ['one', LOAD.one],
    ]) {
      const jobs = loadKey === 'many' ? N.inflight64 : N.inflight1;
      const cpu0 = cpuSeconds(worker.pid);
      const gcpu0 = cpuSeconds(gearmand.pid);
      const result = await loadgen(gearmand.port, FN, { ...load, jobs, payload: PAYLOAD });
      const cpuUs = ((cpuSeconds(worker.pid) - cpu0) / result.jobs) * 1e6;
      const gearmandUs = ((cpuSeconds(gearmand.pid) - gcpu0) / result.jobs) * 1e6;
      const scenario = `1. throughput, ${load.label}`;
      const base = `${scenario}|${SUBJECTS.c.label}|jobs/s`;
      const target = subjectKey === 'atom8' && loadKey === 'many' ? { ratio: 1.5 } : subjectKey === 'atom1' ? { ratio: 0.8 } : undefined;
      record(scenario, subject.label, 'jobs/s', 'jobs/s', result.jobs_per_s, { better: 'higher', baseline: subjectKey === 'c' ? undefined : base, target });
      record(scenario, subject.label, 'p50 submit→complete', 'ms', result.p50_ms, { better: 'lower', baseline: subjectKey === 'c' ? undefined : `${scenario}|${SUBJECTS.c.label}|p50 submit→complete` });
      record(scenario, subject.label, 'worker CPU per job', 'µs', cpuUs, { better: 'lower', baseline: subjectKey === 'c' ? undefined : `${scenario}|${SUBJECTS.c.label}|worker CPU per job` });
      record(scenario, subject.label, 'gearmand CPU per job', 'µs', gearmandUs, { better: 'lower' });
      log(subject.label, load.label, `${result.jobs_per_s} jobs/s p50 ${result.p50_ms} ms cpu ${cpuUs.toFixed(1)} µs/job`);
    }
  } finally {
    await worker.stop();
    await gearmand.stop();
  }
}

/** Is the load generator the bottleneck? More in flight on one C worker, and the same load on 4 C workers. */
async function saturationRun() {
  const scenario = '1b. load generator headroom (C workers)';
  const gearmand = await startGearmand();
  const workers = [await startCWorker(gearmand.port, FN)];
  try {
    await loadgen(gearmand.port, FN, { ...LOAD.many, jobs: N.warmup, payload: PAYLOAD });
    const more = await loadgen(gearmand.port, FN, { threads: 8, window: 16, jobs: N.inflight64, payload: PAYLOAD });
    record(scenario, '1 × `gearman -w`, 128 in flight (8 clients × 16)', 'jobs/s', 'jobs/s', more.jobs_per_s, { better: 'higher' });
    for (let i = 0; i < 3; i++) workers.push(await startCWorker(gearmand.port, FN, { waitReady: false }));
    await waitRegistered(gearmand.port, FN, 4);
    const four = await loadgen(gearmand.port, FN, { ...LOAD.many, jobs: N.inflight64, payload: PAYLOAD });
    record(scenario, '4 × `gearman -w`, 64 in flight (4 clients × 16)', 'jobs/s', 'jobs/s', four.jobs_per_s, { better: 'higher' });
    log('saturation', `1 worker @128: ${more.jobs_per_s}`, `4 workers @64: ${four.jobs_per_s}`);
  } finally {
    for (const worker of workers) await worker.stop();
    await gearmand.stop();
  }
}

/** Queue N background jobs, then start the worker: time from its spawn until the queue is empty. */
async function drainRun(subjectKey) {
  const subject = SUBJECTS[subjectKey];
  const scenario = `2. background drain of ${N.drain.toLocaleString('en')} jobs`;
  const gearmand = await startGearmand();
  let worker;
  const admin = await adminConnection(gearmand.port);
  try {
    await loadgen(gearmand.port, FN, { threads: 2, window: 128, jobs: N.drain, payload: PAYLOAD, background: true });
    const queued = (await admin.status())[FN]?.total ?? 0;
    if (queued !== N.drain) throw new Error(`expected ${N.drain} queued jobs, gearmand reports ${queued}`);
    const spawn = performance.now();
    const starting = subject.start(gearmand.port);
    let emptyAt;
    for (;;) {
      const status = (await admin.status())[FN];
      if (status && status.total === 0) {
        emptyAt = performance.now();
        break;
      }
      await sleep(10);
    }
    worker = await starting;
    const seconds = (emptyAt - spawn) / 1000;
    record(scenario, subject.label, 'seconds to empty (from spawn)', 's', seconds, { better: 'lower', baseline: subjectKey === 'c' ? undefined : `${scenario}|${SUBJECTS.c.label}|seconds to empty (from spawn)` });
    record(scenario, subject.label, 'jobs/s', 'jobs/s', N.drain / seconds, { better: 'higher', baseline: subjectKey === 'c' ? undefined : `${scenario}|${SUBJECTS.c.label}|jobs/s` });
    log(subject.label, 'drain', `${seconds.toFixed(2)} s`);
  } finally {
    admin.close();
    await worker?.stop();
    await gearmand.stop();
  }
}

/** One job at a time with a gap, so the worker has sent PRE_SLEEP and sleeps when each job arrives. */
async function pickupRun(subjectKey) {
  const scenario = `3. pick-up from idle (${N.pickup} jobs, 20 ms apart)`;
  const gearmand = await startGearmand();
  const concurrency = subjectKey === 'atom8' ? 8 : 1;
  const isC = subjectKey === 'c';
  const worker = isC ? await startCWorker(gearmand.port, FN) : await startAtomWorker(gearmand.port, { concurrency, jobs: [BENCH_JOBS], fn: 'benchStamp' });
  const label = SUBJECTS[subjectKey].label;
  try {
    const fn = isC ? FN : 'benchStamp';
    await loadgen(gearmand.port, fn, { jobs: 50, payload: PAYLOAD }); // warm-up, back to back
    const result = await loadgen(gearmand.port, fn, { jobs: N.pickup, gapMs: 20, payload: PAYLOAD, stamp: !isC });
    const base = (metric) => (isC ? undefined : `${scenario}|${SUBJECTS.c.label}|${metric}`);
    record(scenario, label, 'p50 submit→complete', 'ms', result.p50_ms, { better: 'lower', baseline: base('p50 submit→complete') });
    record(scenario, label, 'p99 submit→complete', 'ms', result.p99_ms, { better: 'lower', baseline: base('p99 submit→complete') });
    if (!isC) {
      record(scenario, label, 'p50 submit→handler start', 'ms', result.start_p50_ms, { better: 'lower', target: { max: 1 } });
      record(scenario, label, 'p99 submit→handler start', 'ms', result.start_p99_ms, { better: 'lower' });
    }
    log(label, 'pickup', JSON.stringify(result));
  } finally {
    await worker.stop();
    await gearmand.stop();
  }
}

/** Idle RSS, then RSS after a warm-up and after N jobs at 64 in flight. */
async function memoryRun(subjectKey) {
  const scenario = `4. memory over ${N.memory.toLocaleString('en')} jobs (64 in flight)`;
  const subject = SUBJECTS[subjectKey];
  const gearmand = await startGearmand();
  const worker = await subject.start(gearmand.port);
  try {
    await sleep(1000);
    const idle = memoryOf(worker.pid).rssMiB;
    const warm = 20_000;
    await loadgen(gearmand.port, FN, { ...LOAD.many, jobs: warm, payload: PAYLOAD });
    const afterWarm = memoryOf(worker.pid).rssMiB;
    await loadgen(gearmand.port, FN, { ...LOAD.many, jobs: N.memory - warm, payload: PAYLOAD });
    const after = memoryOf(worker.pid);
    record(scenario, subject.label, 'idle RSS', 'MiB', idle, { better: 'lower', target: subjectKey === 'c' ? undefined : { max: 60 } });
    record(scenario, subject.label, `RSS after ${warm / 1000}k jobs`, 'MiB', afterWarm, { better: 'lower' });
    record(scenario, subject.label, `RSS after ${N.memory / 1000}k jobs`, 'MiB', after.rssMiB, { better: 'lower' });
    record(scenario, subject.label, `RSS growth idle→${N.memory / 1000}k`, '%', ((after.rssMiB - idle) / idle) * 100, { better: 'lower', target: subjectKey === 'c' ? undefined : { max: 10 } });
    record(scenario, subject.label, `RSS growth ${warm / 1000}k→${N.memory / 1000}k`, '%', ((after.rssMiB - afterWarm) / afterWarm) * 100, { better: 'lower' });
    log(subject.label, 'memory', `idle ${idle.toFixed(1)} warm ${afterWarm.toFixed(1)} after ${after.rssMiB.toFixed(1)} peak ${after.peakMiB.toFixed(1)}`);
  } finally {
    await worker.stop();
    await gearmand.stop();
  }
}

/** Process spawn until gearmand lists the function for it (admin `status`, polled every 2 ms). */
async function startupRun(subjectKey) {
  const scenario = '5. start-up: spawn → registered with gearmand';
  const gearmand = await startGearmand();
  const isC = subjectKey === 'c';
  const label = isC ? SUBJECTS.c.label : 'atom-worker c=1, built-in jobs';
  const worker = isC ? await startCWorker(gearmand.port, FN, { waitReady: false }) : await startAtomWorker(gearmand.port, { concurrency: 1, waitReady: false });
  try {
    const ready = await waitRegistered(gearmand.port, FN, 1, worker.child);
    record(scenario, label, 'ms to registered', 'ms', ready - worker.spawnedAt, { better: 'lower', target: isC ? undefined : { max: 400 }, baseline: isC ? undefined : `${scenario}|${SUBJECTS.c.label}|ms to registered` });
    await sleep(500);
    record(scenario, label, 'idle RSS', 'MiB', memoryOf(worker.pid).rssMiB, { better: 'lower' });
  } finally {
    await worker.stop();
    await gearmand.stop();
  }
}

/** The DIP ingest job through the worker: a generated DIP of `files` files, seconds and the worker's peak RSS. */
async function dipRun(files) {
  const scenario = '6. DIP ingest (qtSwordPluginWorker via gearmand)';
  const dipDir = path.join(OUT, 'dip');
  const deposit = path.join(dipDir, 'deposit');
  mkdirSync(deposit, { recursive: true });
  const name = `bench-${files}-00000a1b-0000-4000-8000-${files.toString(16).padStart(12, '0')}`;
  if (!existsSync(path.join(deposit, name))) {
    const made = spawnSync(process.execPath, [path.join(ROOT, 'bench', 'dip', 'generate.mjs'), deposit, String(files)], { encoding: 'utf8' });
    if (made.status !== 0 || made.stdout.trim() !== name) throw new Error(`DIP generator failed: ${made.stderr}${made.stdout}`);
  }
  const config = path.join(dipDir, 'gearman.yml');
  writeFileSync(
    config,
    `all:\n  servers:\n    default: 127.0.0.1:4730\n  atom_worker:\n    sword_deposit_dir: ${JSON.stringify(deposit)}\n    dip_output_dir: ${JSON.stringify(path.join(dipDir, 'output'))}\n`,
  );
  const gearmand = await startGearmand();
  const worker = await startAtomWorker(gearmand.port, { config, abilities: 'qtSwordPluginWorker', fn: 'qtSwordPluginWorker' });
  try {
    const payload = JSON.stringify({ id: 1, format: 'http://purl.org/net/sword-types/METSArchivematicaDIP', location: `file:///${name}` });
    const result = await loadgen(gearmand.port, 'qtSwordPluginWorker', { jobs: 1, payload });
    if (result.failed > 0) throw new Error(`DIP job failed; see ${worker.logFile}`);
    const { peakMiB } = memoryOf(worker.pid);
    const label = `${files.toLocaleString('en')}-file DIP`;
    record(scenario, label, 'seconds', 's', result.p50_ms / 1000, { better: 'lower' });
    record(scenario, label, 'worker peak RSS', 'MiB', peakMiB, { better: 'lower', target: files >= 10_000 ? { max: 150 } : undefined });
    log(label, `${(result.p50_ms / 1000).toFixed(2)} s peak ${peakMiB.toFixed(1)} MiB`);
  } finally {
    await worker.stop();
    await gearmand.stop();
  }
}

/**
 * The DIP into AtoM's database through the worker (a private MariaDB with AtoM's schema): the
 * 10,000-file DIP end to end, and per file at 1,000 files next to AtoM's own parse pattern (PHP,
 * SimpleXML + XPath per file) on the same METS; that pattern grows with the square of the file
 * count, so it runs on the 1,000-file DIP only.
 */
async function dipAtomRun() {
  const scenario = "7. DIP ingest into AtoM's database (MariaDB)";
  const { runAtomDipBench, runAtomPattern } = await import('./dip/atom.mjs');
  const small = await runAtomDipBench(1000);
  const pattern = runAtomPattern(small.metsFile);
  const baseline = pattern.msPerFile !== undefined ? record(scenario, "AtoM's parse pattern (PHP)", 'ms per file, 1,000 files', 'ms', pattern.msPerFile, { better: 'lower' }) : undefined;
  if (pattern.unavailable) log(`AtoM's parse pattern not measured: ${pattern.unavailable}`);
  record(scenario, 'atom-worker', 'ms per file, 1,000 files', 'ms', small.msPerFile, { better: 'lower', baseline });
  const large = await runAtomDipBench(10_000);
  if (!large.nestedSetValid) throw new Error('the nested set is not valid after the 10,000-file DIP');
  record(scenario, 'atom-worker', '10,000-file DIP, seconds', 's', large.seconds, { better: 'lower', target: { max: 60 } });
  record(scenario, 'atom-worker', 'ms per file, 10,000 files', 'ms', large.msPerFile, { better: 'lower' });
  record(scenario, 'atom-worker', 'worker peak RSS, 10,000 files', 'MiB', large.peakMiB, { better: 'lower', target: { max: 250 } });
  log(`DIP into MariaDB: 10,000 files ${large.seconds.toFixed(1)} s, ${large.objects} objects, peak ${large.peakMiB.toFixed(0)} MiB; 1,000 files ${small.msPerFile.toFixed(2)} ms/file vs PHP ${pattern.msPerFile?.toFixed(2) ?? 'n/a'} ms/file`);
  for (const run of [small, large]) spawnSync('rm', ['-rf', run.work]);
}

// ---- run ------------------------------------------------------------------------------------------

const started = Date.now();
try {
  for (let rep = 1; rep <= REPS; rep++) {
    log(`repetition ${rep}/${REPS}`);
    // Subjects interleave within each repetition, so background noise hits them alike.
    if (ONLY.includes('throughput')) {
      for (const subject of ['c', 'atom1', 'atom8', 'atom8nj']) await throughputRun(subject);
      await saturationRun();
    }
    if (ONLY.includes('drain')) for (const subject of ['c', 'atom1', 'atom8']) await drainRun(subject);
    if (ONLY.includes('pickup')) for (const subject of ['c', 'atom1', 'atom8']) await pickupRun(subject);
    if (ONLY.includes('memory')) for (const subject of ['c', 'atom1', 'atom8']) await memoryRun(subject);
    if (ONLY.includes('startup')) for (let i = 0; i < 2; i++) for (const subject of ['c', 'atom']) await startupRun(subject);
    if (ONLY.includes('dip')) for (const files of [1000, 10_000]) await dipRun(files);
    if (ONLY.includes('dipatom')) await dipAtomRun();
  }
} catch (error) {
  killAll();
  throw error;
}

// ---- report ---------------------------------------------------------------------------------------

function fmt(value, unit) {
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === 'jobs/s') return Math.round(value).toLocaleString('en');
  if (unit === '%') return `${value >= 0 ? '+' : ''}${value.toFixed(1)} %`;
  if (unit === 'ms' || unit === 's') return `${value < 10 ? value.toFixed(3) : value.toFixed(1)} ${unit}`;
  return `${value.toFixed(1)} ${unit}`;
}

const lines = [
  `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memGiB} GiB, Node ${machine.node}, ${machine.gearmand}, libgearman ${machine.libgearman}. ` +
    `${REPS} repetitions${quick ? ' (--quick)' : ''}, ${Math.round((Date.now() - started) / 1000)} s.`,
  '',
  '| Scenario | Subject | Metric | Median | Spread | vs C (same run) | Target | Met |',
  '|---|---|---|---:|---:|---:|---|---|',
];
const verdicts = [];
for (const row of rows.values()) {
  const value = median(row.values);
  const base = row.baseline ? rows.get(row.baseline) : undefined;
  const baseValue = base ? median(base.values) : undefined;
  const ratio = baseValue ? value / baseValue : undefined;
  let target = '';
  let met = '';
  if (row.target?.ratio !== undefined && ratio !== undefined) {
    target = `≥ ${row.target.ratio}× C`;
    met = ratio >= row.target.ratio ? 'yes' : 'NO';
  } else if (row.target?.max !== undefined) {
    target = `${row.unit === '%' ? '<' : '≤'} ${row.target.max} ${row.unit}`;
    met = value <= row.target.max ? 'yes' : 'NO';
  }
  if (met) verdicts.push(met);
  lines.push(
    `| ${row.scenario} | ${row.subject} | ${row.metric} | ${fmt(value, row.unit)} | ±${(spread(row.values) / 2).toFixed(0)} % | ${ratio !== undefined ? `${ratio.toFixed(2)}×` : ''} | ${target} | ${met} |`,
  );
}
lines.push('', 'Spread: half the range of the repetitions, relative to the median. "vs C": atom-worker ÷ C worker (for jobs/s higher is better; for times, CPU and memory lower is better); in scenario 7 the baseline is AtoM\'s own parse pattern.');
const report = lines.join('\n');
console.log(report);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
writeFileSync(path.join(OUT, `results-${stamp}.md`), `${report}\n`);
writeFileSync(path.join(OUT, `results-${stamp}.json`), JSON.stringify({ machine, reps: REPS, quick, rows: [...rows.values()] }, null, 2));
process.exitCode = 0;
