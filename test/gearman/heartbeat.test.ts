// The heartbeat on a connection that dies without a FIN: a proxy between the worker and gearmand
// stops forwarding but keeps both sockets open. The worker must notice (ECHO_REQ unanswered), drop
// the connection, reconnect and serve the next job, whether it was asleep or running a job.
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { GearmanClient } from '../../src/gearman/client.js';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';
import { type FreezingProxy, startFreezingProxy } from '../harness/proxy.js';
import { isConnected, spawnCli, type SpawnedWorker } from '../harness/worker.js';
import { stopWorker } from '../ops/helpers.js';

describe('heartbeat on a connection that stops forwarding', () => {
  let gearmand: Gearmand;
  let proxy: FreezingProxy;
  let worker: SpawnedWorker | undefined;
  let client: GearmanClient;

  beforeAll(async () => {
    gearmand = await startGearmand();
    client = new GearmanClient([{ host: gearmand.host, port: gearmand.port }]);
  });
  afterEach(async () => {
    if (worker) await stopWorker(worker);
    worker = undefined;
    await proxy?.close();
  });
  afterAll(async () => {
    client.close();
    await gearmand?.stop();
  });

  async function workerBehindProxy(prefix: string): Promise<SpawnedWorker> {
    proxy = await startFreezingProxy({ host: gearmand.host, port: gearmand.port });
    const spawned = spawnCli(['run', '--servers', proxy.address, '--prefix', prefix, '--log-format', 'json', '--no-journal', '--heartbeat-interval', '2', '--heartbeat-timeout', '1']);
    await spawned.waitForLog(isConnected);
    return spawned;
  }

  it('an idle worker (asleep after PRE_SLEEP) reconnects and serves the next job', async () => {
    worker = await workerBehindProxy('hb1-');
    // A job proves the worker is asleep on the connection before the freeze.
    expect(await client.submit('hb1-atomWorkerTest', '{"echo":"before"}')).toMatchObject({ status: 'complete' });
    const frozenAt = Date.now();
    proxy.freeze();
    const lost = await worker.waitForLog((line) => line.msg === 'lost connection to job server; reconnecting', 8000);
    expect(String(lost.err)).toContain('no answer to a heartbeat within 1 s');
    await worker.waitForLogs(isConnected, 2, 8000);
    expect(proxy.accepted).toBe(2);
    const outcome = await client.submit('hb1-atomWorkerTest', '{"echo":"after"}');
    expect(outcome).toMatchObject({ status: 'complete' });
    expect(outcome.status === 'complete' && outcome.result.toString()).toBe('after');
    process.stdout.write(`heartbeat, idle: dead connection noticed and the next job served ${Date.now() - frozenAt} ms after the freeze\n`);
  });

  it('a worker running a job reconnects; the next job is served once the handler is done', async () => {
    worker = await workerBehindProxy('hb2-');
    const first = client.submit('hb2-atomWorkerTest', JSON.stringify({ sleepMs: 3000 }), { unique: 'frozen-run' });
    void first.catch(() => undefined);
    await worker.waitForLog((line) => line.msg === 'job started' && line.unique === 'frozen-run');
    const frozenAt = Date.now();
    proxy.freeze();
    await worker.waitForLog((line) => line.msg === 'lost connection to job server; reconnecting', 8000);
    await worker.waitForLogs(isConnected, 2, 8000);
    const next = await client.submit('hb2-atomWorkerTest', '{"echo":"next"}', { unique: 'after-freeze' });
    expect(next).toMatchObject({ status: 'complete' });
    const started = worker.lines.filter((line) => line.msg === 'job started').map((line) => line.unique);
    expect(started).toEqual(['frozen-run', 'after-freeze']);
    process.stdout.write(`heartbeat, running: the next job served ${Date.now() - frozenAt} ms after the freeze\n`);
  });
});
