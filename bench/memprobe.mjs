// Preload (`node --import ./bench/memprobe.mjs ...`): after MEMPROBE_MS (default 1500) ms, print
// process.memoryUsage() and V8 heap spaces to stderr; with MEMPROBE_MODULES=1 also the loaded ESM/CJS module count.
import v8 from 'node:v8';
import { createRequire } from 'node:module';
const ms = Number(process.env.MEMPROBE_MS ?? 1500);
setTimeout(() => {
  const mib = (n) => (n / 1048576).toFixed(1);
  const m = process.memoryUsage();
  const lines = [`memprobe rss ${mib(m.rss)} heapTotal ${mib(m.heapTotal)} heapUsed ${mib(m.heapUsed)} external ${mib(m.external)} arrayBuffers ${mib(m.arrayBuffers)}`];
  for (const s of v8.getHeapSpaceStatistics()) lines.push(`  ${s.space_name.padEnd(24)} size ${mib(s.space_size)} used ${mib(s.space_used_size)}`);
  const req = createRequire(import.meta.url);
  lines.push(`  cjs modules: ${Object.keys(req.cache).length}`);
  if (process.env.MEMPROBE_MODULES) for (const k of Object.keys(req.cache)) lines.push(`    ${k}`);
  process.stderr.write(lines.join('\n') + '\n');
}, ms).unref();
