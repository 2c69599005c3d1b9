#!/usr/bin/env node
// Where does RSS go between 20k and N jobs? Runs one atom-worker (c=8, 64 in flight, as the memory
// scenario) with --heapsnapshot-signal, prints memory and V8 heap spaces at idle, 20k and N jobs,
// writes heap snapshots at 20k and N, and diffs them by constructor (count and self size).
// SNAPSHOTS=0: no heap snapshots (taking one leaves the snapshotter's malloc'd memory in RSS).
//   node bench/retention.mjs [jobs=200000] [concurrency=8] [extra run args...]
import { readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { OUT, ROOT, loadgen, memoryOf, prepareTools, sleep, startAtomWorker, startGearmand } from './lib.mjs';

const [jobs = '200000', concurrency = '8', ...extra] = process.argv.slice(2);
prepareTools();
const dir = path.join(OUT, 'retention');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const gearmand = await startGearmand();
const worker = await startAtomWorker(gearmand.port, {
  concurrency: Number(concurrency),
  abilities: 'atomWorkerTest',
  nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`, '--import', path.join(ROOT, 'bench', 'memprobe.mjs')],
  keepLog: true,
  args: extra,
});
const payload = '{"echo":"abcde"}';
const load = { threads: 4, window: 16, payload };
const snapshots = process.env.SNAPSHOTS !== '0';
const probe = async (label) => {
  process.kill(worker.pid, 'SIGWINCH');
  await sleep(300);
  const log = readFileSync(worker.logFile, 'utf8');
  const last = log.slice(log.lastIndexOf('memprobe'));
  console.log(`--- ${label}: RSS ${memoryOf(worker.pid).rssMiB.toFixed(1)} MiB\n${last.split('\n').filter((l) => !l.startsWith('{')).join('\n')}`);
};
const snapshot = async () => {
  const before = readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')).length;
  process.kill(worker.pid, 'SIGUSR2');
  for (;;) {
    await sleep(200);
    const files = readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')).sort();
    if (files.length > before) {
      await sleep(500);
      return path.join(dir, files.at(-1));
    }
  }
};
await sleep(1000);
await probe('idle');
console.log(smaps(worker.pid));
await loadgen(gearmand.port, 'atomWorkerTest', { ...load, jobs: 20_000 });
await probe('20k');
console.log(smaps(worker.pid));
const first = snapshots ? await snapshot() : undefined;
await loadgen(gearmand.port, 'atomWorkerTest', { ...load, jobs: Number(jobs) - 20_000 });
await probe(`${Number(jobs) / 1000}k`);
const second = snapshots ? await snapshot() : undefined;
console.log(smaps(worker.pid));
await worker.stop();
await gearmand.stop();
if (!first || !second) process.exit(0);

/** RSS by mapping: the node binary, other files, the malloc heap and anonymous mappings (V8's heap, thread arenas). */
function smaps(pid) {
  const totals = new Map();
  let current = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = line.match(/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/);
    if (head) current = head[1] === '' ? '[anon]' : head[1].startsWith('/') && !head[1].endsWith('/node') ? '(other files)' : head[1];
    else if (line.startsWith('Rss:')) totals.set(current, (totals.get(current) ?? 0) + Number(line.split(/\s+/)[1]));
  }
  return [...totals].sort((x, y) => y[1] - x[1]).slice(0, 6).map(([k, v]) => `  ${(v / 1024).toFixed(1).padStart(6)} MiB ${k}`).join('\n');
}

function summarize(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const step = fields.length;
  const iType = fields.indexOf('type'), iName = fields.indexOf('name'), iSize = fields.indexOf('self_size');
  const by = new Map();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += step) {
    const type = types[snap.nodes[i + iType]];
    const name = type === 'object' || type === 'closure' || type === 'native' ? snap.strings[snap.nodes[i + iName]] : `(${type})`;
    const key = `${type}:${name}`.slice(0, 80);
    const entry = by.get(key) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += snap.nodes[i + iSize];
    total += snap.nodes[i + iSize];
    by.set(key, entry);
  }
  return { by, total };
}
const a = summarize(first);
const b = summarize(second);
console.log(`heap snapshot total: 20k ${(a.total / 1048576).toFixed(2)} MiB, ${Number(jobs) / 1000}k ${(b.total / 1048576).toFixed(2)} MiB`);
const rows = [];
for (const [key, entry] of b.by) {
  const old = a.by.get(key) ?? { count: 0, size: 0 };
  rows.push({ key, dCount: entry.count - old.count, dSize: entry.size - old.size, count: entry.count });
}
for (const [key, old] of a.by) if (!b.by.has(key)) rows.push({ key, dCount: -old.count, dSize: -old.size, count: 0 });
rows.sort((x, y) => Math.abs(y.dSize) - Math.abs(x.dSize));
console.log('largest changes (constructor: Δcount, Δbytes, count now):');
for (const row of rows.slice(0, 25)) console.log(`  ${row.key.padEnd(60)} ${String(row.dCount).padStart(8)} ${String(row.dSize).padStart(10)} ${String(row.count).padStart(8)}`);
