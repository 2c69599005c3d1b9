// The worker's lifecycle: it builds the slots and their connections, and moves through the states
// of events.ts (starting → running ⇄ quiet → draining → stopped), recycling when a limit is
// reached. Jobs run in jobRun.ts, grabbing is in slot.ts, which connection sleeps in dispatch.ts.
import type { Logger } from 'pino';
import { formatAddress } from '../gearman/address.js';
import { type Ability, WorkerLink } from '../gearman/workerLink.js';
import { EXIT_FAILED, EXIT_OK, EXIT_RECYCLE } from '../exitCodes.js';
import { Dispatch } from './dispatch.js';
import type { WorkerObserver, WorkerState } from './events.js';
import type { JobRun } from './jobRun.js';
import { RecyclingLimits } from './limits.js';
import {
  CLOSE_BOUND_MS,
  CONNECT_TIMEOUT_MS,
  DEFAULT_ABORT_GRACE_MS,
  DEFAULT_BACKOFF,
  PACKET_HEADROOM_BYTES,
  RECENTLY_ENDED_KEPT,
  type Registration,
  serverTimeoutFor,
  slotClientId,
  type WorkerOptions,
} from './options.js';
import { Slot, type SlotHost } from './slot.js';

/** A running job, as status lines, the control socket and the event-loop monitor show it. */
export interface RunningJob {
  readonly slot: number;
  readonly function: string;
  readonly handle: string;
  readonly startedAt: number;
}

export class Worker implements SlotHost {
  readonly slots: Slot[] = [];
  readonly abortGraceMs: number;
  /** Resolves with the process exit code once the worker has stopped. */
  readonly done: Promise<number>;
  private readonly log: Logger;
  private readonly observers: readonly WorkerObserver[];
  private readonly registrations = new Map<string, Registration>();
  private readonly dispatch: Dispatch;
  private readonly limits: RecyclingLimits;
  /** Jobs whose handlers are running (including ones already answered by a timeout). */
  private readonly executing = new Set<JobRun>();
  private state: WorkerState = 'starting';
  private exitCode = EXIT_OK;
  private drainTimer: NodeJS.Timeout | undefined;
  private resolveDone!: (code: number) => void;
  /** A small ring of the last jobs to end, for naming a job that blocked the event loop. */
  private readonly recentlyEnded: Array<{ function: string; handle: string; endedAt: number }> = [];

  constructor(readonly options: WorkerOptions) {
    this.log = options.log;
    this.observers = options.observers ?? [];
    this.abortGraceMs = options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;
    this.limits = new RecyclingLimits(options);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    for (const registration of options.registrations) this.registrations.set(registration.functionName, registration);
    const abilities: Ability[] = options.registrations.map((registration) => ({
      name: registration.functionName,
      ...(registration.timeoutMs !== undefined && options.serverTimeouts === true ? { serverTimeoutMs: serverTimeoutFor(registration.timeoutMs) } : {}),
    }));
    for (let index = 0; index < options.concurrency; index++) this.slots.push(new Slot(index, this));
    this.dispatch = new Dispatch(options.servers.map(formatAddress), this.slots, this.log, this.observers);
    for (const slot of this.slots) {
      for (const address of options.servers) {
        const linkOptions = {
          address,
          clientId: slotClientId(options.clientId, slot.index, options.concurrency),
          abilities,
          maxPacketBytes: options.maxPayloadBytes + PACKET_HEADROOM_BYTES,
          connectTimeoutMs: CONNECT_TIMEOUT_MS,
          backoff: options.backoff ?? DEFAULT_BACKOFF,
          ...(options.heartbeat ? { heartbeatIntervalMs: options.heartbeat.intervalMs, heartbeatTimeoutMs: options.heartbeat.timeoutMs } : {}),
        };
        slot.links.push(new WorkerLink(linkOptions, this.dispatch.eventsFor(slot)));
      }
    }
  }

  get currentState(): WorkerState {
    return this.state;
  }

  /** Jobs whose handlers are running (including ones already answered by a timeout). */
  get running(): number {
    return this.executing.size;
  }

  /** Jobs started since the worker began (what --max-job-count counts). */
  get startedJobCount(): number {
    return this.limits.startedJobs;
  }

  /** Connected job servers (at least one connection up). */
  get connectedServers(): string[] {
    return this.dispatch.connectedServers();
  }

  /** What each busy slot runs. */
  runningJobs(): RunningJob[] {
    const jobs: RunningJob[] = [];
    for (const slot of this.slots) {
      if (slot.job) jobs.push({ slot: slot.index, function: slot.job.job.functionName, handle: slot.job.job.handle, startedAt: slot.job.startedAt });
    }
    return jobs;
  }

  /**
   * Jobs that ran at any time since `since` (epoch ms): the running ones and recently ended ones. The
   * event-loop monitor names them, since a job that blocked the loop has often ended by the next tick.
   */
  jobsActiveSince(since: number): Array<{ function: string; handle: string; running: boolean }> {
    const active = this.runningJobs().map((job) => ({ function: job.function, handle: job.handle, running: true }));
    for (const ended of this.recentlyEnded) {
      if (ended.endedAt >= since) active.push({ function: ended.function, handle: ended.handle, running: false });
    }
    return active;
  }

  /** Connect and serve; nothing when a stop came first (a SIGTERM during the start hooks). */
  start(): void {
    if (this.state !== 'starting') return;
    this.setState('running');
    this.limits.start((reason) => this.limitReached(reason));
    for (const slot of this.slots) for (const link of slot.links) link.start();
  }

  /** Stop grabbing but stay connected and registered (SIGTSTP / `quiet`). */
  quiet(): void {
    if (this.state !== 'running') return;
    this.setState('quiet');
  }

  resume(): void {
    if (this.state !== 'quiet') return;
    this.setState('running');
    for (const slot of this.slots) slot.grabNext();
  }

  /**
   * Graceful stop: no new jobs; running jobs finish within the shutdown timeout, then are aborted,
   * given a grace period, and abandoned. Abilities stay registered throughout (no CANT_DO, which would
   * requeue running jobs). Resolves `done` with 0, 1 (abandoned jobs) or `exitCode` (recycling).
   */
  drain(reason: string, exitCode = EXIT_OK): void {
    if (this.state === 'draining' || this.state === 'stopped') return;
    this.beginDrain(reason, exitCode);
  }

  /** Second signal: abort everything and close the sockets now; gearmand requeues what was running. */
  stopNow(reason: string): void {
    if (this.state === 'stopped') return;
    const running = this.executing.size;
    this.log.warn({ running, reason }, 'stopping now: running jobs are aborted and requeued by gearmand');
    for (const run of this.executing) run.interrupt('the worker is stopping now');
    if (this.drainTimer) clearTimeout(this.drainTimer);
    if (running > 0 && this.exitCode === EXIT_OK) this.exitCode = EXIT_FAILED;
    this.limits.stop();
    for (const slot of this.slots) for (const link of slot.links) link.abort();
    this.setState('stopped', reason);
    this.resolveDone(this.exitCode);
  }

  // ---- SlotHost / JobRunHost: what slots and job runs ask of the worker ------------------------

  accepting(): boolean {
    return this.state === 'running' && this.limits.reason === undefined;
  }

  isStopping(): boolean {
    return this.state === 'draining' || this.state === 'stopped';
  }

  isStopped(): boolean {
    return this.state === 'stopped';
  }

  registration(functionName: string): Registration | undefined {
    return this.registrations.get(functionName);
  }

  jobAssigned(): void {
    this.limits.jobStarted();
  }

  executionStarted(run: JobRun): void {
    this.executing.add(run);
  }

  jobAnswered(run: JobRun): void {
    this.limits.checkMemory();
    if (this.recentlyEnded.length >= RECENTLY_ENDED_KEPT) this.recentlyEnded.shift();
    this.recentlyEnded.push({ function: run.job.functionName, handle: run.job.handle, endedAt: Date.now() });
  }

  released(run: JobRun): void {
    this.executing.delete(run);
    this.slots[run.slot.index]!.jobDone();
    this.afterJob();
  }

  abandoned(run: JobRun): void {
    const slot = this.slots[run.slot.index]!;
    slot.stuck = true;
    this.executing.delete(run);
    slot.jobDone();
    this.afterJob();
    if (this.slots.every((slot) => slot.stuck)) this.limitReached('every slot is stuck on an abandoned handler');
  }

  // ---- draining and stopping ------------------------------------------------------------------

  private afterJob(): void {
    if (this.limits.reason !== undefined && this.state === 'running') {
      this.beginDrain(`recycling: ${this.limits.reason}`, EXIT_RECYCLE);
      return;
    }
    if (this.state !== 'draining') return;
    if (this.executing.size === 0) this.finishDrain();
    else this.log.info({ state: 'draining', running: this.executing.size }, 'draining: waiting for running jobs');
  }

  private limitReached(reason: string): void {
    if (this.limits.reason !== undefined || this.state !== 'running') return;
    this.limits.reason = reason;
    this.afterJob();
  }

  private beginDrain(reason: string, exitCode: number): void {
    this.exitCode = exitCode;
    this.setState('draining', reason);
    this.limits.stop();
    if (this.executing.size === 0) {
      this.finishDrain();
      return;
    }
    this.drainTimer = setTimeout(() => {
      this.log.warn({ running: this.executing.size, shutdown_timeout_ms: this.options.shutdownTimeoutMs }, 'shutdown timeout reached: aborting running jobs');
      for (const run of this.executing) run.interrupt('the worker is shutting down');
      setTimeout(() => this.finishDrain(), this.abortGraceMs).unref();
    }, this.options.shutdownTimeoutMs);
  }

  private finishDrain(): void {
    if (this.state === 'stopped') return;
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.limits.stop();
    const abandoned = this.executing.size + this.slots.filter((slot) => slot.stuck).length;
    if (abandoned > 0) {
      this.log.error({ abandoned }, 'jobs did not end after their abort: abandoning them (gearmand requeues them)');
      if (this.exitCode === EXIT_OK) this.exitCode = EXIT_FAILED;
    }
    const exitCode = this.exitCode;
    this.setState('stopped', `exit code ${exitCode}`);
    // Resolve once every socket has flushed its last reply and closed (bounded, for a silent peer).
    const closing = Promise.all(this.slots.flatMap((slot) => slot.links.map((link) => link.close())));
    const bound = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_BOUND_MS).unref());
    void Promise.race([closing, bound]).then(() => this.resolveDone(exitCode));
  }

  private setState(state: WorkerState, reason?: string): void {
    this.state = state;
    const running = this.executing.size;
    this.log.info({ state, running, ...(reason ? { reason } : {}) }, `worker ${state}`);
    for (const observer of this.observers) observer.stateChanged?.(state, reason !== undefined ? { reason, running } : { running });
  }
}
