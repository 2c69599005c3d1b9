// Notice when the event loop was blocked (a handler doing long synchronous work starves every slot's
// socket), and keep the recent lag for health checks and metrics.
import type { Logger } from 'pino';

export interface LoopMonitor {
  /** The lag of the last tick, in ms. */
  readonly lagMs: number;
  /** The largest lag seen since start, in ms: a stall between two scrapes still shows. */
  readonly maxLagMs: number;
  /** Whether a tick arrived recently and on time (for /healthz and the systemd watchdog). */
  healthy(): boolean;
  stop(): void;
}

export interface LoopMonitorOptions {
  readonly log: Logger;
  readonly thresholdMs?: number;
  readonly intervalMs?: number;
  /** Who ran since the given time (epoch ms), to name in the warning. */
  readonly describeRunning: (since: number) => unknown;
}

export function startLoopMonitor(options: LoopMonitorOptions): LoopMonitor {
  const threshold = options.thresholdMs ?? 1000;
  const interval = options.intervalMs ?? 200;
  let expected = performance.now() + interval;
  let lagMs = 0;
  let maxLagMs = 0;
  let lastTick = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lagMs = Math.max(0, now - expected);
    if (lagMs > maxLagMs) maxLagMs = lagMs;
    expected = now + interval;
    lastTick = now;
    if (lagMs > threshold) {
      const since = Date.now() - lagMs - interval;
      options.log.warn({ blocked_ms: Math.round(lagMs), running: options.describeRunning(since) }, 'event loop was blocked: a handler did long synchronous work');
    }
  }, interval);
  timer.unref();
  return {
    get lagMs() {
      return lagMs;
    },
    get maxLagMs() {
      return maxLagMs;
    },
    healthy() {
      return performance.now() - lastTick < threshold + interval * 2 && lagMs <= threshold;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
