// Signals a supervised worker honours: TERM/INT drain (a second one stops now), TSTP/CONT pause and
// resume grabbing, HUP reopens the log file.
import type { Logger } from 'pino';
import type { WorkerState } from './events.js';

/** What the signals move: the worker, or startWorker's handle. */
export interface SignalTarget {
  readonly state: WorkerState;
  readonly running: number;
  drain(reason: string): void;
  stopNow(reason: string): void;
  quiet(): void;
  resume(): void;
}

export interface SignalOptions {
  readonly log: Logger;
  readonly onHangup?: () => void;
}

/** Install the handlers; returns a function that removes them. */
export function installSignalHandlers(worker: SignalTarget, options: SignalOptions): () => void {
  let stopRequests = 0;
  const stop = (signal: NodeJS.Signals): void => {
    stopRequests++;
    if (stopRequests === 1) {
      options.log.info({ signal, running: worker.running }, `${signal} received: draining (send it again to stop now)`);
      worker.drain(`${signal} received`);
    } else {
      options.log.warn({ signal, running: worker.running }, `second ${signal} received: stopping now`);
      worker.stopNow(`second ${signal}`);
    }
  };
  const quiet = (): void => {
    options.log.info({ signal: 'SIGTSTP', running: worker.running }, 'SIGTSTP received: not taking new jobs until SIGCONT');
    worker.quiet();
  };
  // SIGCONT also comes from job control and from coreutils `timeout`: only worth a line when it resumes.
  const resume = (): void => {
    if (worker.state !== 'quiet') return;
    options.log.info({ signal: 'SIGCONT' }, 'SIGCONT received: taking jobs again');
    worker.resume();
  };
  const hangup = (): void => {
    options.onHangup?.();
    options.log.info({ signal: 'SIGHUP' }, 'SIGHUP received: log file reopened');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGTSTP', quiet);
  process.on('SIGCONT', resume);
  process.on('SIGHUP', hangup);
  return () => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    process.off('SIGTSTP', quiet);
    process.off('SIGCONT', resume);
    process.off('SIGHUP', hangup);
  };
}
