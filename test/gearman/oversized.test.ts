// A payload over the worker's packet cap: skipped in the stream (never buffered), the job answered
// with the reason, the connection kept. Before, the connection was dropped, gearmand handed the job
// out again at once, and the loop never ended.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanClient } from '../../src/gearman/client.js';
import { serverStatus } from '../../src/gearman/admin.js';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';
import { isConnected, spawnCli, type SpawnedWorker } from '../harness/worker.js';
import { stopWorker } from '../ops/helpers.js';

describe('over-cap payloads', () => {
  let gearmand: Gearmand;
  let worker: SpawnedWorker;
  let client: GearmanClient;

  beforeAll(async () => {
    gearmand = await startGearmand();
    // The default cap: 64 MiB (the connection takes 64 KiB more for the packet's other fields).
    worker = spawnCli(['run', '--servers', gearmand.address, '--no-journal', '--log-format', 'json']);
    await worker.waitForLog(isConnected);
    client = new GearmanClient([{ host: gearmand.host, port: gearmand.port }]);
  });
  afterAll(async () => {
    client?.close();
    if (worker) await stopWorker(worker);
    await gearmand?.stop();
  });

  const big = Buffer.alloc(70 * 1024 * 1024, 0x61);

  it('a 70 MB foreground job fails with the reason; the connection stays and the next job is served', async () => {
    const warnings: string[] = [];
    const outcome = await client.submit('atomWorkerTest', big, { unique: 'huge-fg', onWarning: (data) => warnings.push(data.toString()) });
    expect(outcome.status).toBe('fail');
    expect(warnings).toEqual([`payload of ${big.length} bytes exceeds the 67108864-byte limit`]);
    expect(await client.submit('atomWorkerTest', '{"echo":"next"}')).toMatchObject({ status: 'complete' });
    expect(worker.lines.filter((line) => line.unique === 'huge-fg' && line.msg === 'job started')).toHaveLength(1);
    expect(worker.lines.filter((line) => line.msg === 'lost connection to job server; reconnecting')).toEqual([]);
    expect(worker.lines.filter((line) => isConnected(line))).toHaveLength(1);
  }, 30_000);

  it('a 70 MB background job is answered once and leaves the queue', async () => {
    await client.submitBackground('atomWorkerTest', big, { unique: 'huge-bg' });
    const ended = await worker.waitForLog((line) => line.unique === 'huge-bg' && typeof line.outcome === 'string', 20_000);
    expect(ended).toMatchObject({ outcome: 'rejected' });
    expect(String(ended.reason)).toContain('exceeds the 67108864-byte limit');
    // Answered, so gearmand dropped it: nothing waiting, nothing running, no second delivery.
    expect(await client.submit('atomWorkerTest', '{"echo":"after"}')).toMatchObject({ status: 'complete' });
    const status = await serverStatus({ host: gearmand.host, port: gearmand.port });
    expect(status.find((entry) => entry.function === 'atomWorkerTest')).toMatchObject({ queued: 0, running: 0 });
    expect(worker.lines.filter((line) => line.unique === 'huge-bg' && line.msg === 'job started')).toHaveLength(1);
    expect(worker.lines.filter((line) => line.msg === 'lost connection to job server; reconnecting')).toEqual([]);
  }, 30_000);
});
