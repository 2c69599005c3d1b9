// What startWorker returns: the running worker seen from the program that started it. It moves the
// worker (quiet, resume, stop), reports on it, and passes on its events.
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import type { WorkerState } from '../runtime/events.js';
import type { RunningJob, Worker } from '../runtime/worker.js';
import { WorkerEventEmitter, type WorkerEventName, type WorkerEvents } from './events.js';

export interface StopOptions {
  /** Abort running jobs at once (gearmand requeues them) instead of letting them finish. */
  readonly now?: boolean;
  readonly reason?: string;
}

/** What startWorker hands the handle besides the worker and its events. */
export interface HandleParts {
  readonly settings: Settings;
  readonly log: Logger;
  readonly functions: readonly string[];
  /** Run the start hooks, then start the worker. */
  readonly begin: () => Promise<void>;
  /** After the worker has stopped: close what was opened around it; resolves with the final exit code. */
  readonly close: (workerCode: number) => Promise<number>;
  readonly reopenLog: () => void;
}

export class WorkerHandle {
  /** Resolves with the exit code once the worker has stopped and everything it opened is closed. */
  readonly done: Promise<number>;
  /** The resolved settings (config, flags, defaults). */
  readonly settings: Settings;
  /** The worker's logger. */
  readonly log: Logger;
  /** The function names registered with the job servers (prefix included). */
  readonly functions: readonly string[];
  private everRegistered = false;
  private started = false;

  constructor(
    private readonly worker: Worker,
    private readonly events: WorkerEventEmitter,
    private readonly parts: HandleParts,
  ) {
    this.settings = parts.settings;
    this.log = parts.log;
    this.functions = parts.functions;
    this.done = worker.done.then(parts.close);
    events.on('registered', () => (this.everRegistered = true));
  }

  get state(): WorkerState {
    return this.worker.currentState;
  }

  /** Jobs whose handlers are running. */
  get running(): number {
    return this.worker.running;
  }

  get connectedServers(): string[] {
    return this.worker.connectedServers;
  }

  get startedJobCount(): number {
    return this.worker.startedJobCount;
  }

  runningJobs(): RunningJob[] {
    return this.worker.runningJobs();
  }

  /** Run the job modules' start hooks, then connect and serve (startWorker does this unless told not to). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.parts.begin();
  }

  /** Resolves once every connection to every server has registered the functions. */
  registered(): Promise<void> {
    return this.everRegistered ? Promise.resolve() : this.events.once('registered').then(() => undefined);
  }

  /** Stop taking jobs; stay connected and registered. */
  quiet(): void {
    this.worker.quiet();
  }

  resume(): void {
    this.worker.resume();
  }

  /** Drain (running jobs finish within shutdown_timeout), or with `now` abort them; resolves as `done`. */
  stop(options: StopOptions = {}): Promise<number> {
    if (options.now) this.worker.stopNow(options.reason ?? 'stopped by the program');
    else this.worker.drain(options.reason ?? 'stop requested by the program');
    return this.done;
  }

  /** For the signal handlers: drain, or stop at once (`atom-worker run`'s SIGTERM / second SIGTERM). */
  drain(reason: string): void {
    this.worker.drain(reason);
  }

  stopNow(reason: string): void {
    this.worker.stopNow(reason);
  }

  /** Reopen the log file (after logrotate moved it); nothing when logging to stdout or to a logger given. */
  reopenLog(): void {
    this.parts.reopenLog();
  }

  on<E extends WorkerEventName>(event: E, listener: WorkerEvents[E]): this {
    this.events.on(event, listener);
    return this;
  }

  off<E extends WorkerEventName>(event: E, listener: WorkerEvents[E]): this {
    this.events.off(event, listener);
    return this;
  }

  /** Resolves with the event's arguments the next time it is emitted. */
  once<E extends WorkerEventName>(event: E): Promise<Parameters<WorkerEvents[E]>> {
    return this.events.once(event);
  }
}
