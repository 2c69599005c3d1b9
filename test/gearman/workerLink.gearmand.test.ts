// One WorkerLink in this process against a real gearmand: registration, GRAB answered by NO_JOB,
// PRE_SLEEP woken by NOOP, an assignment, progress and WORK_COMPLETE with the next GRAB in one
// write, and a reconnect (registering again) after the server restarts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanClient } from '../../src/gearman/client.js';
import { type AssignedJob, WorkerLink, type WorkerLinkEvents } from '../../src/gearman/workerLink.js';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';

type Seen = { kind: 'ready' } | { kind: 'job'; job: AssignedJob } | { kind: 'noJob' } | { kind: 'wake' } | { kind: 'down'; wasConnected: boolean };

/** A link whose events queue up, and a way to wait for the next one of a kind. */
function recordedLink(gearmand: Gearmand, functions: string[]) {
  const seen: Seen[] = [];
  const waiting: Array<{ kind: Seen['kind']; resolve: (event: Seen) => void }> = [];
  const push = (event: Seen): void => {
    const index = waiting.findIndex((waiter) => waiter.kind === event.kind);
    if (index >= 0) waiting.splice(index, 1)[0]!.resolve(event);
    else seen.push(event);
  };
  const next = <K extends Seen['kind']>(kind: K): Promise<Extract<Seen, { kind: K }>> => {
    const index = seen.findIndex((event) => event.kind === kind);
    if (index >= 0) return Promise.resolve(seen.splice(index, 1)[0] as Extract<Seen, { kind: K }>);
    return new Promise((resolve) => waiting.push({ kind, resolve: resolve as (event: Seen) => void }));
  };
  const events: WorkerLinkEvents = {
    ready: () => push({ kind: 'ready' }),
    job: (_link, job) => push({ kind: 'job', job }),
    noJob: () => push({ kind: 'noJob' }),
    wake: () => push({ kind: 'wake' }),
    down: (_link, _error, _retry, wasConnected) => push({ kind: 'down', wasConnected }),
    serverError: () => {},
  };
  const link = new WorkerLink(
    {
      address: { host: gearmand.host, port: gearmand.port },
      clientId: 'link-test',
      abilities: functions.map((name) => ({ name })),
      maxPacketBytes: 1024 * 1024,
      connectTimeoutMs: 2000,
      backoff: { initialMs: 20, maxMs: 100 },
    },
    events,
  );
  return { link, next };
}

let gearmand: Gearmand;

beforeAll(async () => {
  gearmand = await startGearmand();
});

afterAll(async () => {
  await gearmand?.stop();
});

describe('WorkerLink (real gearmand)', () => {
  it('registers, sleeps until woken, runs the protocol of one job, and grabs again in the same write', async () => {
    const { link, next } = recordedLink(gearmand, ['link.echo']);
    const client = new GearmanClient([{ host: gearmand.host, port: gearmand.port }]);
    link.start();
    await next('ready');
    expect(link.isRegistered).toBe(true);
    expect(link.grab()).toBe(true);
    expect(link.isGrabbing).toBe(true);
    expect(link.grab()).toBe(false);
    await next('noJob');
    link.sleep();

    const progress: Array<[number, number]> = [];
    const outcome = client.submit('link.echo', 'hello', { onStatus: (numerator, denominator) => progress.push([numerator, denominator]) });
    await next('wake');
    expect(link.grab()).toBe(true);
    const { job } = await next('job');
    expect(job.functionName).toBe('link.echo');
    expect(job.payload.toString()).toBe('hello');
    expect(link.runningJobs).toBe(1);
    link.sendStatus(job.handle, 1, 2);
    expect(link.completeAndGrab(job.handle, 'HELLO')).toBe(true);
    const answered = await outcome;
    expect(answered.status === 'complete' && answered.result.toString()).toBe('HELLO');
    expect(progress).toEqual([[1, 2]]);
    // The GRAB that went out with WORK_COMPLETE finds nothing more.
    await next('noJob');
    expect(link.runningJobs).toBe(0);
    await link.close();
    client.close();
  });

  it('reconnects and registers again after gearmand restarts', async () => {
    const { link, next } = recordedLink(gearmand, ['link.again']);
    link.start();
    await next('ready');
    await gearmand.kill9();
    expect((await next('down')).wasConnected).toBe(true);
    expect(link.isRegistered).toBe(false);
    await gearmand.restart();
    await next('ready');
    expect(link.isRegistered).toBe(true);
    link.grab();
    await next('noJob');
    link.sleep();
    const fresh = new GearmanClient([{ host: gearmand.host, port: gearmand.port }]);
    const outcome = fresh.submit('link.again', 'x');
    await next('wake');
    link.grab();
    const { job } = await next('job');
    link.sendComplete(job.handle, 'ok');
    expect((await outcome).status).toBe('complete');
    fresh.close();
    link.abort();
  });
});
