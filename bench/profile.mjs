#!/usr/bin/env node
// Profile atom-worker under load: node --cpu-prof (and optionally --trace-gc) on the worker process,
// fed by the C load generator at 64 in flight. Prints the heaviest functions by self time.
//   node bench/profile.mjs [concurrency=1] [jobs=60000]
import { readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { OUT, loadgen, prepareTools, startAtomWorker, startGearmand, memoryOf } from './lib.mjs';

const [concurrency = '1', jobs = '60000'] = process.argv.slice(2);
prepareTools();
const dir = path.join(OUT, 'profile');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const gearmand = await startGearmand();
const worker = await startAtomWorker(gearmand.port, {
  concurrency: Number(concurrency),
  abilities: 'atomWorkerTest',
  nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...(process.env.TRACE_GC ? ['--trace-gc'] : [])],
  keepLog: Boolean(process.env.TRACE_GC),
  args: (process.env.ARGS ?? '').split(' ').filter(Boolean),
});
const payload = '{"echo":"abcde"}';
console.log('idle', memoryOf(worker.pid));
console.log(await loadgen(gearmand.port, 'atomWorkerTest', { threads: 4, window: 16, jobs: Number(jobs), payload }));
console.log('after', memoryOf(worker.pid));
await worker.stop();
await gearmand.stop();
const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
const self = new Map();
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const dt = new Map();
for (let i = 0; i < profile.samples.length; i++) dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
let total = 0;
for (const [id, us] of dt) {
  const node = byId.get(id);
  const f = node.callFrame;
  const key = `${f.functionName || '(anon)'} ${f.url.replace(/^.*node_modules\//, 'nm/').replace(/^file:\/\/.*?\/(dist|src)\//, '$1/')}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + us);
  total += us;
}
const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 45));
for (const [key, us] of top) console.log(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${key}`);
console.log('profile:', path.join(dir, file));
