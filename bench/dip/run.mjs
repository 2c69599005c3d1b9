#!/usr/bin/env node
// Run the compiled qtSwordPluginWorker job on a DIP and report wall time and peak RSS.
// Usage: npx tsc -p . && node bench/dip/run.mjs <deposit-dir> <dip-folder-name> [output-dir]
// Peak RSS comes from process.resourceUsage().maxRSS (kB, the whole process, baseline included).
// Run it as a fresh process with default node flags (no --max-semi-space-size, --expose-gc, ...):
// the worker runs with defaults, and the young generation's growth is part of the peak.
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { pino } from 'pino';

const [deposit, dipName, output = path.join(deposit, '..', 'dip-output')] = process.argv.slice(2);
if (!deposit || !dipName) {
  console.error('usage: node bench/dip/run.mjs <deposit-dir> <dip-folder-name> [output-dir]');
  process.exit(2);
}
const { default: job, PayloadSchema } = await import('../../dist/jobs/qtSwordPluginWorker/index.js');
const baseline = process.memoryUsage().rss;
let progressCalls = 0;
let last = [0, 0];
const ctx = {
  log: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
  progress: (n, d) => {
    progressCalls += 1;
    last = [n, d];
  },
  data: () => {},
  warning: () => {},
  signal: new AbortController().signal,
  job: { handle: '', unique: '', function: 'qtSwordPluginWorker', name: 'qtSwordPluginWorker' },
  settings: { sword_deposit_dir: deposit, dip_output_dir: output },
};
const payload = PayloadSchema.parse({
  id: 1,
  format: 'http://purl.org/net/sword-types/METSArchivematicaDIP',
  location: `file:///${dipName}`,
});
const t0 = performance.now();
const result = await job.run(payload, ctx);
const ms = performance.now() - t0;
const maxRssKb = process.resourceUsage().maxRSS;
if (process.execArgv.length > 0) console.error(`note: node flags ${process.execArgv.join(' ')} change memory behaviour`);
console.log(
  JSON.stringify(
    {
      ...result,
      warnings: result.warnings.length,
      ms: Math.round(ms),
      progressCalls,
      lastProgress: last,
      baselineRssKb: Math.round(baseline / 1024),
      maxRssKb,
      peakRssMiB: Math.round(maxRssKb / 1024),
    },
    null,
    2,
  ),
);
