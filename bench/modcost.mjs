#!/usr/bin/env node
// What each module costs at start-up: imports the given modules one by one (in this order, in this
// process) and prints RSS / heap deltas after a GC. Run with --expose-gc for steadier numbers.
//   node --expose-gc bench/modcost.mjs [module ...]   (default: what `atom-worker run` loads)
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const d = (p) => pathToFileURL(path.join(ROOT, 'dist', 'src', p)).href;
const modules = process.argv.slice(2).length
  ? process.argv.slice(2).map((m) => (m.startsWith('./') ? d(m.slice(2)) : m))
  : ['commander', 'zod', 'js-yaml', 'pino', 'pino-pretty', 'better-sqlite3', 'prom-client', d('config/settings.js'), d('runtime/prepare.js'), d('runtime/worker.js'), d('journal/writer.js'), d('ops/control.js'), d('ops/sdNotify.js'), d('ops/metrics.js'), d('cli/index.js')];
const mib = (n) => (n / 1048576).toFixed(1).padStart(6);
const sample = () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return m;
};
let before = sample();
console.log(`${'start'.padEnd(40)} rss ${mib(before.rss)} heapUsed ${mib(before.heapUsed)}`);
for (const m of modules) {
  const t = performance.now();
  await import(m);
  const ms = performance.now() - t;
  const now = sample();
  const name = m.replace(pathToFileURL(ROOT).href, '').slice(0, 40);
  console.log(`${name.padEnd(40)} rss +${mib(now.rss - before.rss)} heapUsed +${mib(now.heapUsed - before.heapUsed)} ext +${mib(now.external - before.external)} ${ms.toFixed(0).padStart(4)} ms`);
  before = now;
}
console.log(`${'total'.padEnd(40)} rss ${mib(before.rss)} heapUsed ${mib(before.heapUsed)}`);
