// The shutdown watchdog against a real gearmand: a handler stuck in synchronous code blocks the event
// loop, so only the native watchdog thread can end the process; gearmand must then requeue the job.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GearmanClient } from '../../src/gearman/client.js';
import type { JobOutcome } from '../../src/gearman/clientTypes.js';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';
import { isFullyRegistered, type LogLine, type SpawnedWorker, spawnCli, tempDir } from '../harness/worker.js';

/** Spins forever on its first attempt (marked by a file), answers on the next one. */
const jobs = tempDir({
  'spinner.mjs': `import { existsSync, writeFileSync } from 'node:fs';
  export default {
    name: 'spinner',
    run(payload) {
      if (existsSync(payload.marker)) return 'second attempt';
      writeFileSync(payload.marker, 'spun');
      for (;;) {}
    },
  };`,
});

const SIGTERM_BIT = 1n << 14n; // signal 15, bit 14 of the pending masks in /proc

/** Until the kernel has delivered a pending SIGTERM to `pid` (two sent at once may merge into one). */
async function untilSigtermDelivered(pid: number): Promise<void> {
  for (;;) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const pending = [...status.matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$/gm)].some((match) => (BigInt(`0x${match[1]}`) & SIGTERM_BIT) !== 0n);
    if (!pending) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function watchdogLine(worker: SpawnedWorker): LogLine | undefined {
  const line = worker.stderr().split('\n').find((text) => text.includes('shutdown watchdog'));
  return line === undefined ? undefined : (JSON.parse(line) as LogLine);
}

describe('the shutdown watchdog', () => {
  let gearmand: Gearmand;
  let client: GearmanClient;
  const workers: SpawnedWorker[] = [];
  beforeAll(async () => {
    gearmand = await startGearmand();
    client = new GearmanClient([{ host: '127.0.0.1', port: gearmand.port }]);
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.kill('SIGKILL');
      await worker.exited;
    }
  });
  afterAll(async () => {
    client.close();
    await gearmand.stop();
  });

  function start(prefix: string, shutdownTimeoutS: number): SpawnedWorker {
    const worker = spawnCli(['run', '--servers', gearmand.address, '--jobs', jobs, '--prefix', prefix, '--shutdown-timeout', String(shutdownTimeoutS), '--log-format', 'json']);
    workers.push(worker);
    return worker;
  }

  /** Submit a spinner job and wait until it has started (and blocked the loop); `outcome` is the client's. */
  async function stuckJob(worker: SpawnedWorker, prefix: string): Promise<{ outcome: Promise<JobOutcome> }> {
    await worker.waitForLog(isFullyRegistered);
    const outcome = client.submit(`${prefix}spinner`, JSON.stringify({ marker: path.join(tempDir(), 'spun') }));
    await worker.waitForLog((line) => line.msg === 'job started');
    return { outcome };
  }

  it('ends a worker whose handler blocks the loop at the shutdown timeout plus the 5 s grace; gearmand requeues the job', async () => {
    const worker = start('wd-', 1);
    const { outcome } = await stuckJob(worker, 'wd-');
    const signalledAt = Date.now();
    worker.kill('SIGTERM');
    const exit = await worker.exited;
    const elapsedMs = Date.now() - signalledAt;
    expect(exit.code).toBe(1);
    // Not before the deadline (1 s + 5 s grace), and soon after it (checked every 100 ms, plus process exit).
    expect(elapsedMs).toBeGreaterThanOrEqual(5900);
    expect(elapsedMs).toBeLessThan(9000);
    const line = watchdogLine(worker);
    expect(line).toMatchObject({ level: 60, pid: worker.pid, stop_signals: 1, exit_code: 1 });
    expect(Number(line?.blocked_ms)).toBeGreaterThanOrEqual(1000);
    // The JavaScript drain never ran: the loop was blocked from the job's start.
    expect(worker.lines.some((logged) => logged.msg === 'worker draining')).toBe(false);
    // The sockets closed with the process: gearmand hands the job to the next worker at once.
    start('wd-', 1);
    expect(await outcome).toMatchObject({ status: 'complete', result: Buffer.from('second attempt') });
  }, 30_000);

  it('ends it at once on a second signal, long before the shutdown timeout', async () => {
    const worker = start('wd2-', 60);
    const { outcome } = await stuckJob(worker, 'wd2-');
    const signalledAt = Date.now();
    worker.kill('SIGTERM');
    await untilSigtermDelivered(worker.pid);
    worker.kill('SIGTERM');
    const exit = await worker.exited;
    expect(exit.code).toBe(1);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    expect(watchdogLine(worker)).toMatchObject({ stop_signals: 2 });
    start('wd2-', 60);
    expect(await outcome).toMatchObject({ status: 'complete' });
  }, 30_000);

  it('arms itself at start (the addon was built by npm ci)', async () => {
    const worker = start('wd3-', 60);
    await worker.waitForLog(isFullyRegistered);
    expect(worker.lines.some((line) => line.msg === 'no shutdown watchdog: a handler blocking the event loop can hold up a shutdown')).toBe(false);
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });
});
