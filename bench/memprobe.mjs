// Preload (`node --import ./bench/memprobe.mjs ...`): after MEMPROBE_MS (default 1500) ms, and on every
// SIGWINCH, print process.memoryUsage() and the V8 heap spaces to stderr; with MEMPROBE_MODULES=1 also
// the loaded CommonJS modules.
import v8 from 'node:v8';
import { createRequire } from 'node:module';

const ms = Number(process.env.MEMPROBE_MS ?? 1500);
const mib = (n) => (n / 1048576).toFixed(1);
function report() {
  const m = process.memoryUsage();
  const lines = [`memprobe rss ${mib(m.rss)} heapTotal ${mib(m.heapTotal)} heapUsed ${mib(m.heapUsed)} external ${mib(m.external)} arrayBuffers ${mib(m.arrayBuffers)}`];
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_size > 0) lines.push(`  ${s.space_name.padEnd(24)} size ${mib(s.space_size)} used ${mib(s.space_used_size)}`);
  const cache = createRequire(import.meta.url).cache;
  lines.push(`  cjs modules: ${Object.keys(cache).length}`);
  if (process.env.MEMPROBE_MODULES) for (const k of Object.keys(cache)) lines.push(`    ${k}`);
  process.stderr.write(lines.join('\n') + '\n');
}
setTimeout(report, ms).unref();
process.on('SIGWINCH', report);
