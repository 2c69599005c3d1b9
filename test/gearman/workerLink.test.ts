import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/gearman/workerLink.js';

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
