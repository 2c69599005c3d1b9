// systemd's sd_notify protocol: datagrams of `KEY=value` lines to the AF_UNIX socket in
// $NOTIFY_SOCKET. Node's dgram has no unix-domain datagrams, so the sending uses unix-dgram (a small
// native addon), loaded only when NOTIFY_SOCKET is set.
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { UnixDgramSocket } from 'unix-dgram';
import type { WorkerObserver, WorkerState } from '../runtime/events.js';

export interface NotifySender {
  /** Send one datagram; synchronous, so messages arrive in the order sent. */
  send(message: string): void;
  close(): void;
}

/** A sender for $NOTIFY_SOCKET, or undefined when not run by systemd (or the addon is missing). */
export function notifySenderFromEnv(environment: NodeJS.ProcessEnv, log: Logger): NotifySender | undefined {
  const socketPath = environment.NOTIFY_SOCKET;
  if (!socketPath) return undefined;
  if (socketPath.startsWith('@')) {
    log.warn({ notify_socket: socketPath }, 'NOTIFY_SOCKET is an abstract socket, which unix-dgram cannot address: no sd_notify');
    return undefined;
  }
  let unix: typeof import('unix-dgram');
  try {
    unix = createRequire(import.meta.url)('unix-dgram') as typeof import('unix-dgram');
  } catch (error) {
    log.warn({ err: (error as Error).message }, 'NOTIFY_SOCKET is set but the unix-dgram addon cannot be loaded: no sd_notify');
    return undefined;
  }
  const socket: UnixDgramSocket = unix.createSocket('unix_dgram');
  let warned = false;
  socket.on('error', (error: Error) => {
    if (!warned) log.warn({ err: error.message, notify_socket: socketPath }, 'sd_notify send failed');
    warned = true;
  });
  return {
    send(message) {
      const buffer = Buffer.from(message);
      socket.send(buffer, 0, buffer.length, socketPath, (error) => {
        if (error && !warned) {
          warned = true;
          log.warn({ err: error.message, notify_socket: socketPath }, 'sd_notify send failed');
        }
      });
    },
    close() {
      try {
        socket.close();
      } catch {
        // already closed
      }
    },
  };
}

export interface SdNotifyOptions {
  readonly sender: NotifySender;
  readonly environment: NodeJS.ProcessEnv;
  readonly concurrency: number;
  readonly runningJobs: () => ReadonlyArray<{ startedAt: number }>;
  readonly loopHealthy: () => boolean;
  readonly state: () => WorkerState;
  /** How long a drain may take before its jobs are aborted, plus their abort grace. */
  readonly drainBudgetMs: number;
  /** How often STATUS= is refreshed (ms). */
  readonly statusIntervalMs?: number;
}

export interface SdNotifier {
  readonly observer: WorkerObserver;
  stop(): void;
}

/** The watchdog period in µs, if systemd asked for one and for this process. */
export function watchdogUsec(environment: NodeJS.ProcessEnv): number | undefined {
  const usec = Number(environment.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (environment.WATCHDOG_PID && Number(environment.WATCHDOG_PID) !== process.pid) return undefined;
  return usec;
}

/** `2/4 busy, oldest job 37 s` */
export function statusLine(state: WorkerState, concurrency: number, running: ReadonlyArray<{ startedAt: number }>, now = Date.now()): string {
  const oldest = running.reduce((min, job) => Math.min(min, job.startedAt), Number.POSITIVE_INFINITY);
  const busy = `${running.length}/${concurrency} busy${running.length > 0 ? `, oldest job ${Math.round((now - oldest) / 1000)} s` : ''}`;
  return state === 'running' ? busy : `${state}, ${busy}`;
}

export function startSdNotify(options: SdNotifyOptions): SdNotifier {
  const { sender } = options;
  let ready = false;
  let stopping = false;
  let finished = false;
  let lastStatus = '';
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, fn: () => void): void => {
    const timer = setInterval(fn, ms);
    timer.unref();
    timers.push(timer);
  };
  const status = (force = false): void => {
    if (!ready || finished) return;
    const line = statusLine(options.state(), options.concurrency, options.runningJobs());
    if (line === lastStatus && !force) return;
    lastStatus = line;
    sender.send(`STATUS=${line}`);
  };

  const watchdog = watchdogUsec(options.environment);
  if (watchdog !== undefined) {
    // Ping at half the period, and only while the event loop ticks on time: a blocked loop gets restarted.
    every(Math.max(1, Math.floor(watchdog / 2000)), () => {
      if (ready && !finished && options.loopHealthy()) sender.send('WATCHDOG=1');
    });
  }
  every(options.statusIntervalMs ?? 5000, () => status());

  const observer: WorkerObserver = {
    serverChanged(_server, connected) {
      if (connected && !ready && !stopping) {
        ready = true;
        lastStatus = statusLine(options.state(), options.concurrency, options.runningJobs());
        sender.send(`READY=1\nSTATUS=${lastStatus}\nMAINPID=${process.pid}`);
      }
    },
    jobStarted() {
      queueMicrotask(() => status());
    },
    jobEnded() {
      queueMicrotask(() => status());
    },
    stateChanged(state, detail) {
      if (state === 'draining' && !stopping) {
        stopping = true;
        const drainUsec = options.drainBudgetMs * 1000;
        sender.send(`STOPPING=1\nSTATUS=draining: ${detail.running} job(s) finishing${detail.reason ? ` (${detail.reason})` : ''}`);
        if (detail.running > 0) {
          // Tell systemd the stop takes as long as the drain may, and keep telling it while jobs run.
          const deadline = Date.now() + options.drainBudgetMs;
          sender.send(`EXTEND_TIMEOUT_USEC=${drainUsec}`);
          every(5000, () => {
            if (finished || options.state() !== 'draining') return;
            const left = Math.max(1000, deadline - Date.now());
            sender.send(`EXTEND_TIMEOUT_USEC=${left * 1000}\nSTATUS=draining: ${options.runningJobs().length} job(s) finishing`);
          });
        }
      } else if (state === 'quiet' || (state === 'running' && ready)) status(true);
      else if (state === 'stopped') {
        sender.send(`${stopping ? '' : 'STOPPING=1\n'}STATUS=stopped${detail.reason ? `: ${detail.reason}` : ''}`);
        stopping = true;
        finished = true;
      }
    },
  };
  return {
    observer,
    stop() {
      for (const timer of timers) clearInterval(timer);
      sender.close();
    },
  };
}
