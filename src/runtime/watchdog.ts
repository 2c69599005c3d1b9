// The shutdown watchdog: after SIGTERM/SIGINT, a native thread (native/watchdog.c) ends the process
// once the shutdown timeout plus the abort grace has passed while the event loop is blocked, or at
// once on a second signal. Without it, a handler stuck in synchronous code keeps the worker, and the
// job it holds, forever: the JavaScript shutdown timer never runs. A healthy loop ticks the native
// side every 250 ms, so the watchdog never races a shutdown the worker is still carrying out.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

interface WatchdogAddon {
  arm(deadlineMs: number, exitCode: number, linePrefix: string): boolean;
  tick(): void;
}

const TICK_MS = 250;
// From dist/src/runtime/ (the built worker) and from src/runtime/ (tests run the sources).
const CANDIDATES = ['../../../build/Release/watchdog.node', '../../build/Release/watchdog.node'];

function loadAddon(): WatchdogAddon | string {
  const require = createRequire(import.meta.url);
  for (const candidate of CANDIDATES) {
    const path = new URL(candidate, import.meta.url);
    if (!existsSync(path)) continue;
    try {
      return require(path.pathname) as WatchdogAddon;
    } catch (error) {
      return (error as Error).message;
    }
  }
  return 'build/Release/watchdog.node is missing (npm ci builds it with node-gyp)';
}

export interface WatchdogOptions {
  /** From the first stop signal to the end of the process, when the loop stays blocked. */
  readonly deadlineMs: number;
  readonly exitCode: number;
  readonly log: Logger;
}

/**
 * Arm the watchdog. Call after the JavaScript signal handlers are installed: the native handler
 * chains to them. Returns a function that stops the tick (the process is about to exit anyway).
 */
export function armShutdownWatchdog(options: WatchdogOptions): () => void {
  const addon = loadAddon();
  if (typeof addon === 'string') {
    options.log.warn({ reason: addon }, 'no shutdown watchdog: a handler blocking the event loop can hold up a shutdown');
    return () => {};
  }
  addon.arm(options.deadlineMs, options.exitCode, `"pid":${process.pid},`);
  const ticker = setInterval(addon.tick, TICK_MS);
  ticker.unref();
  options.log.debug({ deadline_ms: options.deadlineMs }, 'shutdown watchdog armed');
  return () => clearInterval(ticker);
}
