// The cluster run (bench/cluster/run.mjs) in its quick form: 2,000 jobs over two gearmand and three
// worker hosts in network namespaces, with a worker host cut off, a gearmand host powered off and a
// worker SIGKILLed. It needs root (ip netns); elsewhere it says why and skips.
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCommand, tempDir } from '../harness/worker.js';

const script = path.join(repoRoot, 'bench', 'cluster', 'run.mjs');
const { cannotRun } = (await import(script)) as { cannotRun: () => string | undefined };
const why = cannotRun();
if (why) console.log(`Skipping the cluster run: ${why}`);

describe.skipIf(why !== undefined)('cluster in network namespaces', () => {
  it('loses no job through a cut-off worker host, a powered-off gearmand and a SIGKILLed worker, explains every duplicate, and leaves nothing behind', async () => {
    const json = path.join(tempDir(), 'result.json');
    const run = await runCommand(process.execPath, [script, '--quick', '--json', json], { timeoutMs: 170_000 });
    expect(run.status, run.stderr.slice(-3000)).toBe(0);
    const result = JSON.parse(readFileSync(json, 'utf8')) as {
      jobs: number;
      completedDistinct: number;
      lost: number;
      duplicates: number;
      duplicateReasons: Record<string, number>;
      noticedSeconds: Record<string, number | null>;
      perHost: Record<string, { completions: number }>;
      leftBehind: { namespaces: string[]; processes: string[] };
    };
    expect(result.lost).toBe(0);
    expect(result.completedDistinct).toBe(result.jobs);
    expect(result.duplicateReasons.other ?? 0).toBe(0);
    expect(Object.values(result.duplicateReasons).reduce((a, b) => a + b, 0)).toBe(result.duplicates);
    // The heartbeat (3 s + 2 s in the run) notices the silent faults within about 5 s.
    for (const seconds of Object.values(result.noticedSeconds)) expect(seconds).not.toBeNull();
    expect(result.noticedSeconds['w1 cut off: w1 drops its connections (heartbeat)']).toBeLessThan(8);
    for (const host of ['w1', 'w2', 'w3']) expect(result.perHost[host]!.completions).toBeGreaterThan(0);
    expect(result.leftBehind).toEqual({ namespaces: [], processes: [] });
  }, 180_000);
});
