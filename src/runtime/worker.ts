// The worker: slots × job servers, the job lifecycle (log, run, reply), draining and stopping,
// recycling limits, and the process-level safety nets for errors a handler leaves behind.
import type { Logger } from 'pino';
import { formatAddress, type ServerAddress } from '../gearman/address.js';
import { type Ability, type AssignedJob, defaultClientId, WorkerLink, type WorkerLinkEvents } from '../gearman/workerLink.js';
import type { AtomJobContext, AtomSite, JobInfo } from '../types.js';
import { executeJob, type Execution, type Outcome, payloadTooLarge } from './execute.js';
import type { LoadedJob } from './loadJobs.js';
import { Slot, type SlotHost } from './slot.js';

/** A job registered under its final function name (prefix included). */
export interface Registration {
  readonly functionName: string;
  readonly job: LoadedJob;
  /** The effective time limit, from the job or the worker default. */
  readonly timeoutMs: number | undefined;
}

export interface WorkerOptions {
  readonly servers: readonly ServerAddress[];
  readonly registrations: readonly Registration[];
  readonly concurrency: number;
  readonly log: Logger;
  readonly jobSettings: Readonly<Record<string, unknown>>;
  readonly clientId?: string | undefined;
  readonly maxPayloadBytes: number;
  readonly shutdownTimeoutMs: number;
  /**
   * How a failed job is answered. 'fail': WORK_WARNING with the reason, then WORK_FAIL (every client
   * understands it). 'exception': WORK_EXCEPTION with the reason. gearmand 1.1.20 forwards that only to
   * clients that asked for exceptions and sends the others a malformed WORK_FAIL that libgearman
   * clients never match, so they wait forever.
   */
  readonly failureReply?: FailureReply;
  /**
   * Also register timed jobs with CAN_DO_TIMEOUT. Off by default: gearmand 1.1.20's timer fires on
   * reused connections after the job has ended, requeues it and underflows its counters (gearmand
   * issue 301, fixed after 1.1.20); the worker enforces time limits itself either way.
   */
  readonly serverTimeouts?: boolean;
  /** Per connection: ECHO_REQ after this long without a packet; no answer within the timeout drops it. */
  readonly heartbeat?: { intervalMs: number; timeoutMs: number };
  /** How long an aborted handler gets to return before its slot is declared stuck. */
  readonly abortGraceMs?: number;
  readonly maxJobCount?: number | undefined;
  readonly maxMemUsageKb?: number | undefined;
  /** Already including any random splay. */
  readonly maxRuntimeMs?: number | undefined;
  readonly backoff?: { initialMs: number; maxMs: number };
  readonly observers?: readonly WorkerObserver[];
}

export type FailureReply = 'fail' | 'exception';

export type JobEndStatus = 'completed' | 'failed' | 'timed_out' | 'interrupted' | 'rejected';

export interface JobEvent {
  readonly info: JobInfo;
  readonly server: string;
  readonly slot: number;
  /** The payload as received (empty when it was over the cap and skipped unread). */
  readonly payload: Buffer;
  readonly payloadBytes: number;
  readonly startedAt: number;
}

/** What an observer adds to a handler's context. */
export interface HandlerExtras {
  /** Wrap `ctx.log` (e.g. to copy its lines into AtoM's job row). The worker's own lines are not wrapped. */
  readonly wrapLog?: (log: Logger) => Logger;
  readonly atom?: AtomJobContext;
  readonly atomSite?: AtomSite;
}

/** Hooks for the journal, metrics and sd_notify; all optional, all synchronous and cheap. */
export interface WorkerObserver {
  /** Before the handler runs: return a reason to fail the job without running it (e.g. too many attempts). */
  refuseJob?(event: JobEvent): string | undefined;
  /** Like refuseJob, when the answer needs I/O; resolves with a reason to refuse, else undefined. Must not reject. */
  admitJob?(event: JobEvent): Promise<string | undefined> | undefined;
  /** Extras for the handler's context, asked once the job is admitted. */
  handlerContext?(event: JobEvent): HandlerExtras | undefined;
  jobStarted?(event: JobEvent): void;
  jobProgress?(event: JobEvent, numerator: number, denominator: number): void;
  jobEnded?(event: JobEvent, status: JobEndStatus, durationMs: number, detail: { reason?: string; resultBytes?: number }): void;
  serverChanged?(server: string, connected: boolean): void;
  reconnected?(server: string): void;
  stateChanged?(state: WorkerState, detail: { reason?: string; running: number }): void;
}

export type WorkerState = 'starting' | 'running' | 'quiet' | 'draining' | 'stopped';

/** Exit codes a supervisor acts on. */
export const EXIT_OK = 0;
export const EXIT_ABANDONED = 1;
/** How long an aborted job may take to end before it is abandoned. */
export const DEFAULT_ABORT_GRACE_MS = 5000;
/** As AtoM's jobs:worker: a recycling limit was reached; systemd/upstart respawn the worker. */
export const EXIT_RECYCLE = 111;

interface ServerState {
  readonly name: string;
  connected: number;
  failures: number;
  lastWarnAt: number;
  everConnected: boolean;
}

const UNREACHABLE_LOG_INTERVAL_MS = 30_000;

export class Worker implements SlotHost {
  readonly slots: Slot[] = [];
  private readonly log: Logger;
  private readonly registrations = new Map<string, Registration>();
  private readonly servers = new Map<string, ServerState>();
  private readonly executions = new Map<Slot, Execution>();
  private state: WorkerState = 'starting';
  private startedJobs = 0;
  private limitReason: string | undefined;
  private exitCode = EXIT_OK;
  private drainTimer: NodeJS.Timeout | undefined;
  private runtimeTimer: NodeJS.Timeout | undefined;
  private resolveDone!: (code: number) => void;
  /** Resolves with the process exit code once the worker has stopped. */
  readonly done: Promise<number>;
  private readonly abortGraceMs: number;
  /** Connections registered at least once, to say when every one of them is (once). */
  private readonly everRegistered = new Set<WorkerLink>();
  /**
   * Per server, the one idle connection that sleeps (PRE_SLEEP) and is woken by NOOP. The other idle
   * slots' connections stay awake but silent, so a job wakes one slot, not every idle one (gearmand
   * NOOPs every sleeping connection that can do the function). When the listener takes a job, another
   * idle slot is recruited to grab and, finding nothing, becomes the listener.
   */
  private readonly listeners = new Map<string, WorkerLink>();
  /** A small ring of the last jobs to end, for naming a job that blocked the event loop. */
  private readonly recentlyEnded: Array<{ function: string; handle: string; endedAt: number }> = [];

  constructor(private readonly options: WorkerOptions) {
    this.log = options.log;
    this.abortGraceMs = options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    for (const registration of options.registrations) this.registrations.set(registration.functionName, registration);
    const abilities: Ability[] = options.registrations.map((registration) => ({
      name: registration.functionName,
      ...(registration.timeoutMs !== undefined && options.serverTimeouts === true ? { serverTimeoutMs: serverTimeoutFor(registration.timeoutMs) } : {}),
    }));
    const baseClientId = options.clientId ?? defaultClientId();
    for (const address of options.servers) {
      const name = formatAddress(address);
      this.servers.set(name, { name, connected: 0, failures: 0, lastWarnAt: 0, everConnected: false });
    }
    for (let index = 0; index < options.concurrency; index++) {
      const slot = new Slot(index, this);
      for (const address of options.servers) {
        slot.links.push(
          new WorkerLink(
            {
              address,
              clientId: options.concurrency > 1 ? `${baseClientId}:${index}` : baseClientId,
              abilities,
              maxPacketBytes: options.maxPayloadBytes + 64 * 1024,
              connectTimeoutMs: 5000,
              backoff: options.backoff ?? { initialMs: 100, maxMs: 30_000 },
              ...(options.heartbeat ? { heartbeatIntervalMs: options.heartbeat.intervalMs, heartbeatTimeoutMs: options.heartbeat.timeoutMs } : {}),
            },
            this.linkEvents(slot),
          ),
        );
      }
      this.slots.push(slot);
    }
  }

  get currentState(): WorkerState {
    return this.state;
  }

  /** Jobs whose handlers are running (including ones already answered by a timeout). */
  get running(): number {
    return this.executions.size;
  }

  /** Jobs started since the worker began (what --max-job-count counts). */
  get startedJobCount(): number {
    return this.startedJobs;
  }

  /** Connected job servers (at least one connection up). */
  get connectedServers(): string[] {
    return [...this.servers.values()].filter((server) => server.connected > 0).map((server) => server.name);
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

  /** What each busy slot runs, for status lines and the event-loop monitor. */
  runningJobs(): Array<{ slot: number; function: string; handle: string; startedAt: number }> {
    return this.slots
      .filter((slot) => slot.current)
      .map((slot) => ({ slot: slot.index, function: slot.current!.job.functionName, handle: slot.current!.job.handle, startedAt: slot.current!.startedAt }));
  }

  start(): void {
    this.setState('running');
    if (this.options.maxRuntimeMs !== undefined) {
      this.runtimeTimer = setTimeout(() => this.limitReached(`max-runtime of ${Math.round(this.options.maxRuntimeMs! / 1000)} s reached`), this.options.maxRuntimeMs);
      this.runtimeTimer.unref();
    }
    for (const slot of this.slots) for (const link of slot.links) link.start();
  }

  // ---- SlotHost -------------------------------------------------------------------------------

  accepting(): boolean {
    return this.state === 'running' && this.limitReason === undefined;
  }

  handBack(slot: Slot, link: WorkerLink, job: AssignedJob): void {
    this.log.info({ function: job.functionName, handle: job.handle, server: link.name, slot: slot.index }, 'job handed back to the job server unstarted');
    // Closing the connection is the only way to return a job: gearmand requeues it for another worker.
    if (this.state === 'draining' || this.state === 'stopped') link.abort();
    else link.dropConnection();
  }

  run(slot: Slot, link: WorkerLink, assigned: AssignedJob): void {
    const registration = this.registrations.get(assigned.functionName);
    if (!registration) {
      // gearmand only assigns what we registered; anything else is a server bug. Refuse it loudly.
      this.log.error({ function: assigned.functionName, handle: assigned.handle }, 'job for a function this worker did not register');
      this.sendFailure(link, assigned.handle, `atom-worker has no handler for ${assigned.functionName}`, this.options.failureReply ?? 'fail');
      slot.finish();
      return;
    }
    this.startedJobs++;
    if (this.options.maxJobCount !== undefined && this.startedJobs >= this.options.maxJobCount && this.limitReason === undefined) {
      this.limitReason = `max-job-count of ${this.options.maxJobCount} reached`;
    }
    const info: JobInfo = { handle: assigned.handle, unique: assigned.unique, function: assigned.functionName, name: registration.job.name };
    const event: JobEvent = { info, server: link.name, slot: slot.index, payload: assigned.payload, payloadBytes: assigned.oversizedBytes ?? assigned.payload.length, startedAt: slot.current!.startedAt };
    const jobLog = this.log.child({ function: info.function, handle: info.handle, unique: info.unique });
    jobLog.info({ payload_bytes: assigned.oversizedBytes ?? assigned.payload.length, server: link.name, slot: slot.index }, 'job started');
    // An observer may need the database before the job runs (AtoM's row must exist): wait for it, not blocking.
    let admission: Promise<string | undefined> | undefined;
    for (const observer of this.options.observers ?? []) admission ??= observer.admitJob?.(event);
    if (admission) {
      admission.then((reason) => {
        if (this.state !== 'stopped') this.begin(slot, link, assigned, registration, event, jobLog, reason);
      });
    } else this.begin(slot, link, assigned, registration, event, jobLog, undefined);
  }

  private begin(slot: Slot, link: WorkerLink, assigned: AssignedJob, registration: Registration, event: JobEvent, jobLog: Logger, admissionRefusal: string | undefined): void {
    const info = event.info;
    for (const observer of this.options.observers ?? []) observer.jobStarted?.(event);

    // A payload over the connection's cap was skipped unread: refused with the reason, like one just over max_payload_bytes.
    let refusal = assigned.oversizedBytes !== undefined ? payloadTooLarge(assigned.oversizedBytes, this.options.maxPayloadBytes) : admissionRefusal;
    for (const observer of this.options.observers ?? []) refusal ??= observer.refuseJob?.(event);
    let handlerLog = jobLog;
    let atom: AtomJobContext | undefined;
    let atomSite: AtomSite | undefined;
    for (const observer of this.options.observers ?? []) {
      const extras = observer.handlerContext?.(event);
      if (extras?.wrapLog) handlerLog = extras.wrapLog(handlerLog);
      atom ??= extras?.atom;
      atomSite ??= extras?.atomSite;
    }
    // The logger batches lines per event-loop turn; "job started" goes out before any job code runs.
    jobLog.flush();
    const execution = executeJob({
      job: registration.job,
      info,
      payload: assigned.payload,
      refusal,
      log: handlerLog,
      atom,
      atomSite,
      settings: this.options.jobSettings,
      timeoutMs: registration.timeoutMs,
      maxPayloadBytes: this.options.maxPayloadBytes,
      reporter: {
        status: (numerator, denominator) => {
          link.sendStatus(assigned.handle, numerator, denominator);
          for (const observer of this.options.observers ?? []) observer.jobProgress?.(event, numerator, denominator);
        },
        data: (chunk) => link.sendData(assigned.handle, chunk),
        warning: (message) => link.sendWarning(assigned.handle, message),
      },
    });
    this.executions.set(slot, execution);
    execution.outcome.then((outcome) => this.onOutcome(slot, link, event, jobLog, execution, outcome));
  }

  private onOutcome(slot: Slot, link: WorkerLink, event: JobEvent, jobLog: Logger, execution: Execution, outcome: Outcome): void {
    const handle = event.info.handle;
    const durationMs = Date.now() - event.startedAt;
    if (slot.current) slot.current.decided = true;
    let delivered = true;
    let grabbing = false;
    let resultBytes: number | undefined;
    switch (outcome.kind) {
      case 'completed':
        resultBytes = typeof outcome.result === 'string' ? Buffer.byteLength(outcome.result) : outcome.result.length;
        if (execution.handlerDone && this.accepting() && !slot.stuck) {
          delivered = link.completeAndGrab(handle, outcome.result);
          grabbing = delivered;
        } else delivered = link.sendComplete(handle, outcome.result);
        break;
      case 'rejected':
        delivered = this.sendFailure(link, handle, outcome.reason, 'fail');
        break;
      case 'failed':
      case 'timed_out':
        delivered = this.sendFailure(link, handle, outcome.reason, this.options.failureReply ?? 'fail');
        break;
      case 'interrupted':
        // No reply: the connection closes (or has closed) and gearmand requeues the job.
        delivered = false;
        break;
    }
    const fields = { outcome: outcome.kind, duration_ms: durationMs, ...(outcome.kind !== 'completed' ? { reason: outcome.reason } : { result_bytes: resultBytes }) };
    if (outcome.kind === 'completed') jobLog.info(fields, 'job completed');
    else if (outcome.kind === 'interrupted') jobLog.warn(fields, 'job interrupted; gearmand requeues it');
    else jobLog.warn(fields, outcome.kind === 'rejected' ? 'job rejected: bad payload' : outcome.kind === 'timed_out' ? 'job timed out' : 'job failed');
    if (!delivered && outcome.kind !== 'interrupted') {
      jobLog.warn({ server: link.name }, 'the result could not be delivered: the connection to the job server was lost, and gearmand has requeued the job');
    }
    const reasonDetail = outcome.kind === 'completed' ? {} : { reason: outcome.reason };
    for (const observer of this.options.observers ?? []) {
      observer.jobEnded?.(event, outcome.kind, durationMs, resultBytes !== undefined ? { ...reasonDetail, resultBytes } : reasonDetail);
    }
    this.checkMemory();
    if (this.recentlyEnded.length >= 16) this.recentlyEnded.shift();
    this.recentlyEnded.push({ function: event.info.function, handle, endedAt: Date.now() });

    if (execution.handlerDone) {
      this.release(slot, grabbing ? link : undefined);
      return;
    }
    // The outcome came first (timeout, interruption, a stray rejection): wait for the handler, but not forever.
    const grace = setTimeout(() => {
      if (!this.executions.has(slot) || this.executions.get(slot) !== execution) return;
      slot.stuck = true;
      jobLog.error({ slot: slot.index, grace_ms: this.abortGraceMs }, 'handler ignored its abort signal: slot marked stuck, job abandoned');
      this.executions.delete(slot);
      slot.current = undefined;
      this.afterJob();
      if (this.slots.every((candidate) => candidate.stuck)) this.limitReached('every slot is stuck on an abandoned handler');
    }, this.abortGraceMs);
    execution.settled.then(() => {
      clearTimeout(grace);
      if (slot.stuck) {
        jobLog.warn({ slot: slot.index }, 'abandoned handler finally returned: slot serves again');
        slot.stuck = false;
        slot.pump();
        return;
      }
      this.release(slot, undefined);
    });
  }

  /** Exactly one final packet: WORK_EXCEPTION, or WORK_FAIL after a warning carrying the reason. */
  private sendFailure(link: WorkerLink, handle: string, reason: string, reply: FailureReply): boolean {
    if (reply === 'exception') return link.sendException(handle, reason);
    // WORK_FAIL cannot carry a reason, so the reason goes first as a warning the client can read.
    link.sendWarning(handle, reason);
    return link.sendFail(handle);
  }

  private release(slot: Slot, grabbingOn: WorkerLink | undefined): void {
    this.executions.delete(slot);
    if (grabbingOn) {
      slot.noteGrabbing(grabbingOn);
      slot.current = undefined;
    } else slot.finish();
    this.afterJob();
  }

  private afterJob(): void {
    if (this.limitReason !== undefined && this.state === 'running') {
      this.beginDrain(`recycling: ${this.limitReason}`, EXIT_RECYCLE);
      return;
    }
    if (this.state !== 'draining') return;
    if (this.executions.size === 0) this.finishDrain();
    else this.log.info({ state: 'draining', running: this.executions.size }, 'draining: waiting for running jobs');
  }

  private checkMemory(): void {
    const max = this.options.maxMemUsageKb;
    if (max === undefined || this.limitReason !== undefined) return;
    const rssKb = Math.round(process.memoryUsage.rss() / 1024);
    if (rssKb > max) this.limitReason = `max-mem-usage of ${max} kB exceeded (resident ${rssKb} kB)`;
  }

  private limitReached(reason: string): void {
    if (this.limitReason !== undefined || this.state !== 'running') return;
    this.limitReason = reason;
    this.afterJob();
  }

  // ---- connections ------------------------------------------------------------------------------

  private linkEvents(slot: Slot): WorkerLinkEvents {
    return {
      ready: (link) => {
        const server = this.servers.get(link.name)!;
        const reconnect = server.everConnected && server.connected === 0;
        server.connected++;
        if (server.connected === 1) {
          this.log.info({ server: link.name, failed_attempts: server.failures }, reconnect ? 'reconnected to job server; abilities registered again' : 'connected to job server; abilities registered');
          for (const observer of this.options.observers ?? []) {
            observer.serverChanged?.(link.name, true);
            if (reconnect) observer.reconnected?.(link.name);
          }
        }
        server.everConnected = true;
        server.failures = 0;
        this.log.debug({ server: link.name, slot: slot.index }, 'slot connection registered');
        const total = this.slots.length * this.options.servers.length;
        if (this.everRegistered.size < total) {
          this.everRegistered.add(link);
          if (this.everRegistered.size === total) this.log.info({ connections: total }, 'registered on every connection');
        }
        slot.onMayHaveWork(link);
      },
      job: (link, job) => {
        // A busy slot cannot listen: hand its listener roles (on any server) to idle slots.
        for (const own of slot.links) {
          if (this.listeners.get(own.name) === own) {
            this.listeners.delete(own.name);
            if (own !== link) this.recruitListener(own.name, slot);
          }
        }
        // Nobody listens on this server now: the next idle slot grabs; with work queued it takes a job
        // and recruits the next, so a burst spreads over every idle slot one round trip apart.
        if (!this.listeners.has(link.name)) this.recruitListener(link.name, slot);
        slot.onJob(link, job);
      },
      noJob: (link) => {
        slot.onNoJob(link);
        const listener = this.listeners.get(link.name);
        if (listener === undefined || listener === link) {
          this.listeners.set(link.name, link);
          link.sleep();
        }
        slot.pump();
      },
      wake: (link) => slot.onMayHaveWork(link),
      down: (link, error, retryInMs, wasConnected) => {
        const server = this.servers.get(link.name)!;
        if (wasConnected) {
          server.connected = Math.max(0, server.connected - 1);
          if (server.connected === 0 && retryInMs !== undefined) {
            this.log.warn({ server: link.name, err: error?.message, retry_in_ms: retryInMs }, 'lost connection to job server; reconnecting');
            for (const observer of this.options.observers ?? []) observer.serverChanged?.(link.name, false);
          }
        } else if (retryInMs !== undefined) {
          server.failures++;
          const now = Date.now();
          // Bounded: the first failure of a server, then one line per interval, however many connections retry.
          if (server.failures === 1 || now - server.lastWarnAt >= UNREACHABLE_LOG_INTERVAL_MS) {
            server.lastWarnAt = now;
            this.log.warn({ server: link.name, err: error?.message, failed_attempts: server.failures, retry_in_ms: retryInMs }, 'job server unreachable; retrying');
          }
        }
        if (this.listeners.get(link.name) === link) {
          this.listeners.delete(link.name);
          this.recruitListener(link.name, slot);
        }
        const current = slot.current;
        if (current && current.link === link && !current.decided) {
          this.log.warn(
            { server: link.name, function: current.job.functionName, handle: current.job.handle },
            'connection dropped while the job ran: gearmand has requeued it, so this run is aborted and its result discarded',
          );
          this.executions.get(slot)?.interrupt('connection to the job server was lost');
        }
        slot.onDown(link);
      },
      serverError: (link, code, message) => {
        this.log.error({ server: link.name, code, err: message }, 'job server sent ERROR');
      },
    };
  }

  /** Find an idle slot (other than `except`) to grab on `server`; it becomes the listener if idle. */
  private recruitListener(server: string, except: Slot): void {
    for (const candidate of this.slots) {
      if (candidate === except) continue;
      const link = candidate.links.find((l) => l.name === server);
      if (link && candidate.recruit(link)) return;
    }
  }

  // ---- stopping ---------------------------------------------------------------------------------

  /** Stop grabbing but stay connected and registered (SIGTSTP / `quiet`). */
  quiet(): void {
    if (this.state !== 'running') return;
    this.setState('quiet');
  }

  resume(): void {
    if (this.state !== 'quiet') return;
    this.setState('running');
    for (const slot of this.slots) slot.pump();
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

  private beginDrain(reason: string, exitCode: number): void {
    this.exitCode = exitCode;
    this.setState('draining', reason);
    if (this.runtimeTimer) clearTimeout(this.runtimeTimer);
    if (this.executions.size === 0) {
      this.finishDrain();
      return;
    }
    this.drainTimer = setTimeout(() => {
      this.log.warn({ running: this.executions.size, shutdown_timeout_ms: this.options.shutdownTimeoutMs }, 'shutdown timeout reached: aborting running jobs');
      for (const execution of this.executions.values()) execution.interrupt('the worker is shutting down');
      setTimeout(() => this.finishDrain(), this.abortGraceMs).unref();
    }, this.options.shutdownTimeoutMs);
  }

  private finishDrain(): void {
    if (this.state === 'stopped') return;
    if (this.drainTimer) clearTimeout(this.drainTimer);
    if (this.runtimeTimer) clearTimeout(this.runtimeTimer);
    const abandoned = this.executions.size + this.slots.filter((slot) => slot.stuck).length;
    if (abandoned > 0) {
      this.log.error({ abandoned }, 'jobs did not end after their abort: abandoning them (gearmand requeues them)');
      if (this.exitCode === EXIT_OK) this.exitCode = EXIT_ABANDONED;
    }
    const exitCode = this.exitCode;
    this.setState('stopped', `exit code ${exitCode}`);
    // Resolve once every socket has flushed its last reply and closed (bounded, for a silent peer).
    const closing = Promise.all(this.slots.flatMap((slot) => slot.links.map((link) => link.close())));
    const bound = new Promise<void>((resolve) => setTimeout(resolve, 3000).unref());
    void Promise.race([closing, bound]).then(() => this.resolveDone(exitCode));
  }

  /** Second signal: abort everything and close the sockets now; gearmand requeues what was running. */
  stopNow(reason: string): void {
    if (this.state === 'stopped') return;
    const running = this.executions.size;
    this.log.warn({ running, reason }, 'stopping now: running jobs are aborted and requeued by gearmand');
    for (const execution of this.executions.values()) execution.interrupt('the worker is stopping now');
    if (this.drainTimer) clearTimeout(this.drainTimer);
    if (running > 0 && this.exitCode === EXIT_OK) this.exitCode = EXIT_ABANDONED;
    if (this.runtimeTimer) clearTimeout(this.runtimeTimer);
    for (const slot of this.slots) for (const link of slot.links) link.abort();
    this.setState('stopped', reason);
    this.resolveDone(this.exitCode);
  }

  private setState(state: WorkerState, reason?: string): void {
    this.state = state;
    const running = this.executions.size;
    this.log.info({ state, running, ...(reason ? { reason } : {}) }, `worker ${state}`);
    for (const observer of this.options.observers ?? []) observer.stateChanged?.(state, reason !== undefined ? { reason, running } : { running });
  }
}

/** CAN_DO_TIMEOUT value (ms): our own limit plus a grace, so gearmand's timer (which requeues) never fires first. */
export function serverTimeoutFor(timeoutMs: number): number {
  return timeoutMs + Math.max(1000, Math.round(timeoutMs / 10));
}
