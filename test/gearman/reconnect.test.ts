import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/gearman/reconnect.js';

describe('reconnect backoff', () => {
  const policy = { initialMs: 100, maxMs: 30_000 };

  it('doubles per attempt, with jitter in the upper half of the step', () => {
    expect(backoffDelay(0, policy, () => 0)).toBe(50);
    expect(backoffDelay(0, policy, () => 1)).toBe(100);
    expect(backoffDelay(3, policy, () => 0)).toBe(400);
    expect(backoffDelay(3, policy, () => 1)).toBe(800);
  });

  it('is capped at 30 s however many attempts failed', () => {
    for (const attempt of [9, 10, 20, 1000]) {
      expect(backoffDelay(attempt, policy, () => 1)).toBe(30_000);
      expect(backoffDelay(attempt, policy, () => 0)).toBe(15_000);
    }
  });

  it('spreads reconnecting workers apart', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(5, policy)));
    expect(delays.size).toBeGreaterThan(10);
    for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(1600);
  });
});

describe('a server that drops every connection at once', () => {
  it('keeps the reconnect backoff growing instead of reconnecting at full speed', async () => {
    // A faulty peer, not a job server: it accepts and closes (as gearmand did for an over-cap packet).
    const { createServer } = await import('node:net');
    const { spawnCli } = await import('../harness/worker.js');
    let accepted = 0;
    const slammer = createServer((socket) => {
      accepted++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => slammer.listen(0, '127.0.0.1', resolve));
    const port = (slammer.address() as { port: number }).port;
    const worker = spawnCli(['run', '--servers', `127.0.0.1:${port}`, '--no-journal', '--log-format', 'json']);
    try {
      const lost = await worker.waitForLogs((line) => line.msg === 'lost connection to job server; reconnecting', 5, 15_000);
      const delays = lost.map((line) => Number(line.retry_in_ms));
      // Attempt k waits within [100·2^k / 2, 100·2^k] ms: the fifth at least 800, the first at most 100.
      expect(delays[0]).toBeLessThanOrEqual(100);
      expect(delays[4]).toBeGreaterThanOrEqual(800);
      expect(accepted).toBeGreaterThanOrEqual(5);
    } finally {
      worker.kill('SIGTERM');
      await worker.exited;
      await new Promise<void>((resolve) => slammer.close(() => resolve()));
    }
  }, 20_000);
});
