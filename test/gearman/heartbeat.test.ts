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

describe('heartbeat with the defaults (30 s quiet, then 10 s for the answer)', () => {
  it('an idle worker and a worker running a job both serve their next job within 60 s of a freeze', async () => {
    const gearmand = await startGearmand();
    const client = new GearmanClient([{ host: gearmand.host, port: gearmand.port }]);
    const proxies = await Promise.all([0, 1].map(() => startFreezingProxy({ host: gearmand.host, port: gearmand.port })));
    const [idle, busy] = proxies.map((proxy, index) => spawnCli(['run', '--servers', proxy.address, '--prefix', `hbd${index}-`, '--log-format', 'json', '--no-journal']));
    try {
      await Promise.all([idle!.waitForLog(isConnected), busy!.waitForLog(isConnected)]);
      expect(await client.submit('hbd0-atomWorkerTest', '{"echo":"before"}')).toMatchObject({ status: 'complete' });
      void client.submit('hbd1-atomWorkerTest', JSON.stringify({ sleepMs: 3000 }), { unique: 'frozen-default' }).catch(() => undefined);
      await busy!.waitForLog((line) => line.msg === 'job started' && line.unique === 'frozen-default');
      const frozenAt = Date.now();
      for (const proxy of proxies) proxy.freeze();
      const served = await Promise.all(
        [0, 1].map(async (index) => {
          const outcome = await client.submit(`hbd${index}-atomWorkerTest`, JSON.stringify({ echo: `after ${index}` }));
          return { outcome, afterMs: Date.now() - frozenAt };
        }),
      );
      for (const [index, { outcome, afterMs }] of served.entries()) {
        expect(outcome.status === 'complete' && outcome.result.toString()).toBe(`after ${index}`);
        expect(afterMs).toBeLessThan(60_000);
      }
      for (const worker of [idle!, busy!]) expect(worker.lines.find((line) => line.msg === 'lost connection to job server; reconnecting')?.err).toContain('no answer to a heartbeat within 10 s');
      process.stdout.write(`heartbeat, defaults: next jobs served ${served.map((entry) => entry.afterMs).join(' ms and ')} ms after the freeze\n`);
    } finally {
      await Promise.all([idle!, busy!].map((worker) => stopWorker(worker)));
      await Promise.all(proxies.map((proxy) => proxy.close()));
      client.close();
      await gearmand.stop();
    }
  }, 90_000);
});
