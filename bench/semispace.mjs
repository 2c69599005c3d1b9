#!/usr/bin/env node
// Young-generation cap for the systemd unit: for each --max-semi-space-size (MiB; "default" = none),
// an atom-worker c=8 at 64 in flight (as the memory scenario): idle RSS, RSS after 20k and N jobs,
// and jobs/s over the last N-20k jobs. Medians over REPS, subjects interleaved per repetition.
//   node bench/semispace.mjs [reps=3] [jobs=200000] [sizes=default,1,2,4,8]
import { loadgen, median, memoryOf, prepareTools, sleep, startAtomWorker, startGearmand } from './lib.mjs';

const [reps = '3', jobs = '200000', sizes = 'default,1,2,4,8'] = process.argv.slice(2);
prepareTools();
const N = Number(jobs);
const payload = '{"echo":"abcde"}';
const results = new Map();
for (let rep = 0; rep < Number(reps); rep++) {
  for (const size of sizes.split(',')) {
    const gearmand = await startGearmand();
    const worker = await startAtomWorker(gearmand.port, {
      concurrency: 8,
      abilities: 'atomWorkerTest',
      nodeArgs: size === 'default' ? [] : [`--max-semi-space-size=${size}`],
    });
    try {
      await sleep(1000);
      const idle = memoryOf(worker.pid).rssMiB;
      await loadgen(gearmand.port, 'atomWorkerTest', { threads: 4, window: 16, jobs: 20_000, payload });
      const warm = memoryOf(worker.pid).rssMiB;
      const started = performance.now();
      const run = await loadgen(gearmand.port, 'atomWorkerTest', { threads: 4, window: 16, jobs: N - 20_000, payload });
      const seconds = (performance.now() - started) / 1000;
      const after = memoryOf(worker.pid);
      const row = results.get(size) ?? { idle: [], warm: [], after: [], peak: [], rate: [], p99: [] };
      row.idle.push(idle);
      row.warm.push(warm);
      row.after.push(after.rssMiB);
      row.peak.push(after.peakMiB);
      row.rate.push((N - 20_000) / seconds);
      row.p99.push(run.p99_ms);
      results.set(size, row);
      console.error(`rep ${rep + 1} semi ${size}: idle ${idle.toFixed(1)} 20k ${warm.toFixed(1)} ${N / 1000}k ${after.rssMiB.toFixed(1)} peak ${after.peakMiB.toFixed(1)} MiB, ${((N - 20_000) / seconds).toFixed(0)} jobs/s, p99 ${run.p99_ms} ms`);
    } finally {
      await worker.stop();
      await gearmand.stop();
    }
  }
}
console.log(`| --max-semi-space-size | idle RSS | RSS 20k | RSS ${N / 1000}k | peak | growth idle→${N / 1000}k | jobs/s | p99 ms |`);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const [size, row] of results) {
  const m = (k) => median(row[k]);
  console.log(`| ${size} | ${m('idle').toFixed(1)} | ${m('warm').toFixed(1)} | ${m('after').toFixed(1)} | ${m('peak').toFixed(1)} | +${(((m('after') - m('idle')) / m('idle')) * 100).toFixed(0)} % | ${m('rate').toFixed(0)} | ${m('p99').toFixed(2)} |`);
}
