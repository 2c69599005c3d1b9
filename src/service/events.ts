// The typed events a started worker emits to the program that started it (startWorker's handle),
// fed by a WorkerObserver. A listener that throws is logged; it never breaks the worker.
import type { Logger } from 'pino';
import type { JobEndDetail, JobEndStatus, JobEvent, WorkerObserver, WorkerState } from '../runtime/events.js';

export interface JobEnded extends JobEndDetail {
  readonly status: JobEndStatus;
  readonly durationMs: number;
}

/** Event name → listener. */
export interface WorkerEvents {
  /** Every connection to every server has registered the functions (once). */
  registered: () => void;
  jobStarted: (job: JobEvent) => void;
  jobProgress: (job: JobEvent, numerator: number, denominator: number) => void;
  jobEnded: (job: JobEvent, ended: JobEnded) => void;
  serverConnected: (server: string, reconnected: boolean) => void;
  serverLost: (server: string) => void;
  stateChanged: (state: WorkerState, detail: { readonly reason?: string; readonly running: number }) => void;
}

export type WorkerEventName = keyof WorkerEvents;

export class WorkerEventEmitter {
  private readonly listeners = new Map<WorkerEventName, Set<(...args: never[]) => void>>();

  constructor(private readonly log: Logger) {}

  on<E extends WorkerEventName>(event: E, listener: WorkerEvents[E]): void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
  }

  off<E extends WorkerEventName>(event: E, listener: WorkerEvents[E]): void {
    this.listeners.get(event)?.delete(listener);
  }

  /** Resolves with the event's arguments the next time it is emitted. */
  once<E extends WorkerEventName>(event: E): Promise<Parameters<WorkerEvents[E]>> {
    return new Promise((resolve) => {
      const listener = ((...args: Parameters<WorkerEvents[E]>) => {
        this.off(event, listener);
        resolve(args);
      }) as WorkerEvents[E];
      this.on(event, listener);
    });
  }

  emit<E extends WorkerEventName>(event: E, ...args: Parameters<WorkerEvents[E]>): void {
    const set = this.listeners.get(event);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        (listener as (...values: Parameters<WorkerEvents[E]>) => void)(...args);
      } catch (error) {
        this.log.error({ event, err: error instanceof Error ? error.stack : String(error) }, 'a worker event listener threw (the worker keeps serving)');
      }
    }
  }

  /** The observer that turns the worker's hooks into these events. */
  observer(): WorkerObserver {
    return {
      registered: () => this.emit('registered'),
      jobStarted: (job) => this.emit('jobStarted', job),
      jobProgress: (job, numerator, denominator) => this.emit('jobProgress', job, numerator, denominator),
      jobEnded: (job, status, durationMs, detail) => this.emit('jobEnded', job, { status, durationMs, ...detail }),
      serverChanged: (server, connected, reconnected) => (connected ? this.emit('serverConnected', server, reconnected) : this.emit('serverLost', server)),
      stateChanged: (state, detail) => this.emit('stateChanged', state, detail),
    };
  }
}
