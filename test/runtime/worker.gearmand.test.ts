// The runtime's Worker built directly (no CLI, no service wiring) against real gearmand servers:
// a burst spread over every slot, recycling at max-job-count, a handler that ignores its abort,
// two servers served by one slot, and a server lost and back.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanClient } from '../../src/gearman/client.js';
import type { JobEndStatus, JobEvent, WorkerObserver } from '../../src/runtime/events.js';
import { validateDefinition } from '../../src/runtime/loadJobs.js';
import type { Registration, WorkerOptions } from '../../src/runtime/options.js';
import { Worker } from '../../src/runtime/worker.js';
import type { JobDefinition } from '../../src/types.js';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';

const log = pino({ level: 'silent' });

function registration(definition: JobDefinition<never, unknown>, timeoutMs?: number): Registration {
  const job = validateDefinition('(test)', definition);
  return { functionName: job.name, job, timeoutMs: timeoutMs ?? job.timeoutMs };
}

/** An observer that records what the worker reports, with promises for the moments a test waits for. */
function recorder() {
  const started: JobEvent[] = [];
  const ended: Array<{ event: JobEvent; status: JobEndStatus }> = [];
  const servers: string[] = [];
  const waiters: Array<() => void> = [];
  const changed = () => waiters.splice(0).forEach((wake) => wake());
  const until = (condition: () => boolean): Promise<void> =>
    condition() ? Promise.resolve() : new Promise((resolve) => waiters.push(() => void until(condition).then(resolve)));
  // The worker's log lines, also waited on (a slot marked stuck is a line, not an observer call).
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => (lines.push(JSON.parse(line).msg), changed()) });
  const observer: WorkerObserver = {
    jobStarted: (event) => (started.push(event), changed()),
    jobEnded: (event, status) => (ended.push({ event, status }), changed()),
    serverChanged: (server, connected, reconnected) => (servers.push(`${server} ${connected ? (reconnected ? 'back' : 'up') : 'lost'}`), changed()),
    registered: () => changed(),
  };
  return { observer, started, ended, servers, lines, log, until };
}

let g1: Gearmand;
let g2: Gearmand;

beforeAll(async () => {
  [g1, g2] = await Promise.all([startGearmand(), startGearmand()]);
});

afterAll(async () => {
  await Promise.all([g1?.stop(), g2?.stop()]);
});

function options(servers: Gearmand[], registrations: Registration[], extra: Partial<WorkerOptions> = {}): WorkerOptions {
  return {
    servers: servers.map((g) => ({ host: g.host, port: g.port })),
    registrations,
    concurrency: 1,
    log,
    jobSettings: {},
    clientId: 'worker-test',
    maxPayloadBytes: 1024 * 1024,
    shutdownTimeoutMs: 5000,
    backoff: { initialMs: 50, maxMs: 200 },
    ...extra,
  };
}

describe('Worker (runtime, real gearmand)', () => {
  it('spreads a burst over every idle slot, then drains to exit 0 once the jobs end', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const seen = recorder();
    const worker = new Worker(options([g1], [registration({ name: 'rt.held', run: () => released.then(() => 'ok') })], { concurrency: 3, observers: [seen.observer] }));
    worker.start();
    const client = new GearmanClient([{ host: g1.host, port: g1.port }]);
    for (let i = 0; i < 3; i++) await client.submitBackground('rt.held', String(i));
    await seen.until(() => seen.started.length === 3);
    expect(new Set(seen.started.map((event) => event.slot))).toEqual(new Set([0, 1, 2]));
    expect(worker.running).toBe(3);
    worker.drain('test');
    expect(worker.currentState).toBe('draining');
    release();
    expect(await worker.done).toBe(0);
    expect(seen.ended.map((end) => end.status)).toEqual(['completed', 'completed', 'completed']);
    client.close();
  });

  it('recycles with exit 111 after max-job-count jobs, taking no further job', async () => {
    const seen = recorder();
    const worker = new Worker(options([g1], [registration({ name: 'rt.count', run: () => 'counted' })], { maxJobCount: 2, observers: [seen.observer] }));
    const client = new GearmanClient([{ host: g1.host, port: g1.port }]);
    for (let i = 0; i < 3; i++) await client.submitBackground('rt.count', String(i));
    worker.start();
    expect(await worker.done).toBe(111);
    expect(seen.ended).toHaveLength(2);
    expect(worker.startedJobCount).toBe(2);
    client.close();
  });

  it('abandons a handler that ignores its abort after the grace; the other slot serves meanwhile, and the stuck one again once it returns', async () => {
    const seen = recorder();
    let finish!: () => void;
    const stubborn = registration({ name: 'rt.stubborn', run: (payload: string) => (payload === 'first' ? new Promise((resolve) => (finish = () => resolve('late'))) : payload) }, 100);
    const worker = new Worker(options([g1], [stubborn], { concurrency: 2, abortGraceMs: 100, observers: [seen.observer], log: seen.log }));
    worker.start();
    const client = new GearmanClient([{ host: g1.host, port: g1.port }]);
    const first = await client.submit('rt.stubborn', JSON.stringify('first'));
    expect(first.status).toBe('fail');
    expect(seen.ended[0]?.status).toBe('timed_out');
    await seen.until(() => seen.lines.includes('handler ignored its abort signal: slot marked stuck, job abandoned'));
    const stuck = seen.started[0]!.slot;
    expect(worker.slots[stuck]!.stuck).toBe(true);
    expect(worker.running).toBe(0);
    const second = await client.submit('rt.stubborn', JSON.stringify('second'));
    expect(second.status === 'complete' && second.result.toString()).toBe('second');
    expect(seen.started[1]!.slot).not.toBe(stuck);
    finish();
    await seen.until(() => seen.lines.includes('abandoned handler finally returned: slot serves again'));
    expect(worker.slots[stuck]!.stuck).toBe(false);
    worker.drain('test');
    expect(await worker.done).toBe(0);
    client.close();
  });

  it('recycles when every slot is stuck on an abandoned handler', async () => {
    const seen = recorder();
    const worker = new Worker(options([g1], [registration({ name: 'rt.deaf', run: () => new Promise(() => {}) }, 50)], { abortGraceMs: 50, observers: [seen.observer], log: seen.log }));
    worker.start();
    const client = new GearmanClient([{ host: g1.host, port: g1.port }]);
    await client.submitBackground('rt.deaf', '{}');
    // Recycling (111) so that the supervisor starts a fresh process; the stuck job is abandoned to gearmand.
    expect(await worker.done).toBe(111);
    expect(seen.lines).toContain('jobs did not end after their abort: abandoning them (gearmand requeues them)');
    client.close();
  });

  it('serves two servers from one slot, and notices one of them going away and coming back', async () => {
    const seen = recorder();
    const worker = new Worker(options([g1, g2], [registration({ name: 'rt.where', run: () => 'here' })], { observers: [seen.observer] }));
    worker.start();
    const c1 = new GearmanClient([{ host: g1.host, port: g1.port }]);
    const c2 = new GearmanClient([{ host: g2.host, port: g2.port }]);
    expect((await c1.submit('rt.where', JSON.stringify('a'))).status).toBe('complete');
    expect((await c2.submit('rt.where', JSON.stringify('b'))).status).toBe('complete');
    expect(new Set(seen.ended.map((end) => end.event.server))).toEqual(new Set([`${g1.host}:${g1.port}`, `${g2.host}:${g2.port}`]));
    await g2.kill9();
    await seen.until(() => seen.servers.includes(`${g2.host}:${g2.port} lost`));
    expect(worker.connectedServers).toEqual([`${g1.host}:${g1.port}`]);
    await g2.restart();
    await seen.until(() => seen.servers.includes(`${g2.host}:${g2.port} back`));
    expect((await c2.submit('rt.where', JSON.stringify('c'))).status).toBe('complete');
    worker.drain('test');
    expect(await worker.done).toBe(0);
    c1.close();
    c2.close();
  });
});
