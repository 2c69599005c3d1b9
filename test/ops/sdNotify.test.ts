// sd_notify: a real unix datagram socket receives a real worker's messages, in order; and the
// watchdog pings only while the event loop is healthy.
import path from 'node:path';
import { createRequire } from 'node:module';
import type { UnixDgramSocket } from 'unix-dgram';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GearmanClient } from '../../src/gearman/client.js';
import { startSdNotify, statusLine, watchdogUsec } from '../../src/ops/sdNotify.js';
import type { WorkerState } from '../../src/runtime/events.js';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';
import { tempDir } from '../harness/worker.js';
import { startWorker } from './helpers.js';

const unix = createRequire(import.meta.url)('unix-dgram') as typeof import('unix-dgram');

describe('sd_notify from a real worker', () => {
  let gearmand: Gearmand;
  let socket: UnixDgramSocket;
  let socketPath: string;
  const messages: string[] = [];
  const waiters: Array<{ predicate: (message: string) => boolean; resolve: () => void }> = [];

  const waitForMessage = (predicate: (message: string) => boolean): Promise<void> =>
    messages.some(predicate) ? Promise.resolve() : new Promise((resolve) => waiters.push({ predicate, resolve }));

  beforeAll(async () => {
    gearmand = await startGearmand();
    socketPath = path.join(tempDir({}, 'atom-worker-notify-'), 'notify.sock');
    socket = unix.createSocket('unix_dgram', (message) => {
      const text = message.toString();
      messages.push(text);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(text)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    });
    socket.bind(socketPath);
  });
  afterAll(async () => {
    socket?.close();
    await gearmand?.stop();
  });

  it('sends READY=1 once registered, STATUS lines, WATCHDOG=1, then STOPPING=1 and EXTEND_TIMEOUT_USEC on a drain with a job running', async () => {
    const ops = await startWorker(gearmand, { env: { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '200000' } });
    await waitForMessage((message) => message.includes('READY=1'));
    await waitForMessage((message) => message === 'WATCHDOG=1');
    const client = new GearmanClient([{ host: gearmand.host, port: gearmand.port }]);
    const job = client.submit('atomWorkerTest', JSON.stringify({ sleepMs: 1200 }));
    await ops.worker.waitForLog((line) => line.msg === 'job started');
    await waitForMessage((message) => /^STATUS=1\/1 busy, oldest job \d+ s$/.test(message));
    ops.worker.kill('SIGTERM');
    expect((await job).status).toBe('complete');
    client.close();
    expect((await ops.worker.exited).code).toBe(0);
    await waitForMessage((message) => message.includes('STATUS=stopped'));

    const index = (predicate: (message: string) => boolean): number => messages.findIndex(predicate);
    const ready = index((message) => message.includes('READY=1'));
    const firstWatchdog = index((message) => message === 'WATCHDOG=1');
    const busy = index((message) => message.startsWith('STATUS=1/1 busy'));
    const stopping = index((message) => message.includes('STOPPING=1'));
    const extend = index((message) => message.startsWith('EXTEND_TIMEOUT_USEC='));
    const stopped = index((message) => message.includes('STATUS=stopped'));
    expect(ready).toBe(0);
    expect(messages[0]).toBe(`READY=1\nSTATUS=0/1 busy\nMAINPID=${ops.worker.pid}`);
    expect(firstWatchdog).toBeGreaterThan(ready);
    expect(busy).toBeGreaterThan(ready);
    expect(stopping).toBeGreaterThan(busy);
    expect(messages[stopping]).toContain('STATUS=draining: 1 job(s) finishing (SIGTERM received)');
    expect(extend).toBe(stopping + 1);
    // The drain budget: shutdown timeout (60 s) plus the abort grace and a margin, in µs.
    expect(Number(messages[extend]!.split('=')[1])).toBe(70_000_000);
    expect(stopped).toBe(messages.length - 1);
    expect(messages.filter((message) => message.includes('READY=1'))).toHaveLength(1);
    expect(messages.filter((message) => message.includes('STOPPING=1'))).toHaveLength(1);
  });
});

describe('sd_notify units', () => {
  it('status lines name the busy slots and the oldest job', () => {
    expect(statusLine('running', 4, [], 10_000)).toBe('0/4 busy');
    expect(statusLine('running', 4, [{ startedAt: 0 }, { startedAt: 5000 }], 37_000)).toBe('2/4 busy, oldest job 37 s');
    expect(statusLine('quiet', 1, [], 0)).toBe('quiet, 0/1 busy');
  });

  it('the watchdog period is honoured only for this process', () => {
    expect(watchdogUsec({})).toBeUndefined();
    expect(watchdogUsec({ WATCHDOG_USEC: '30000000' })).toBe(30_000_000);
    expect(watchdogUsec({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: String(process.pid) })).toBe(30_000_000);
    expect(watchdogUsec({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '1' })).toBeUndefined();
  });

  it('pings WATCHDOG=1 at half the period, only after READY and only while the event loop is healthy', () => {
    vi.useFakeTimers();
    try {
      const sent: string[] = [];
      let healthy = true;
      const state: WorkerState = 'running';
      const notifier = startSdNotify({
        sender: { send: (message) => sent.push(message), close() {} },
        environment: { WATCHDOG_USEC: '1000000' },
        concurrency: 1,
        runningJobs: () => [],
        loopHealthy: () => healthy,
        state: () => state,
        drainBudgetMs: 1000,
        statusIntervalMs: 60_000,
      });
      vi.advanceTimersByTime(1000);
      expect(sent).toEqual([]);
      notifier.observer.serverChanged!('s', true);
      vi.advanceTimersByTime(1000);
      expect(sent.filter((message) => message === 'WATCHDOG=1')).toHaveLength(2);
      healthy = false;
      vi.advanceTimersByTime(2000);
      expect(sent.filter((message) => message === 'WATCHDOG=1')).toHaveLength(2);
      healthy = true;
      vi.advanceTimersByTime(500);
      expect(sent.filter((message) => message === 'WATCHDOG=1')).toHaveLength(3);
      notifier.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
