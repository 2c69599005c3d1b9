// One job, from its assignment to its final packet: admission, the handler's run (execute.ts), the
// one answer to the job server (answerJob), the lines and observer calls, and a handler that
// outlives its abort. One JobRun object per running job, as Temporal has one per activity.
import type { Logger } from 'pino';
import type { AssignedJob, WorkerLink } from '../gearman/workerLink.js';
import type { AtomJobContext, AtomSite, JobInfo } from '../types.js';
import type { JobEvent, WorkerObserver } from './events.js';
import { executeJob, type Execution, type Outcome, payloadTooLarge } from './execute.js';
import { DEFAULT_FAILURE_REPLY, type FailureReply, type Registration, type WorkerOptions } from './options.js';

/** The slot a JobRun runs in, as the run sees it (slot.ts implements it). */
export interface RunSlot {
  readonly index: number;
  readonly stuck: boolean;
  /** WORK_COMPLETE and the next GRAB in one write; false when the connection is gone. */
  completeAndGrab(link: WorkerLink, handle: string, result: string | Buffer): boolean;
  /** An abandoned handler finally returned: serve again. */
  unstick(): void;
}

/** What a JobRun needs from the worker that owns it. */
export interface JobRunHost {
  readonly options: WorkerOptions;
  readonly abortGraceMs: number;
  registration(functionName: string): Registration | undefined;
  /** May a slot take (or grab for) another job now? */
  accepting(): boolean;
  isStopped(): boolean;
  /** A registered job is about to run: count it (recycling limits). */
  jobAssigned(): void;
  /** The handler is running: the worker waits for it when draining. */
  executionStarted(run: JobRun): void;
  /** The job has its answer (or lost its connection): memory limit, the recently-ended ring. */
  jobAnswered(run: JobRun): void;
  /** The handler has returned: the slot is free. */
  released(run: JobRun): void;
  /** The handler ignored its abort past the grace: the slot is stuck until it returns. */
  abandoned(run: JobRun): void;
}

/**
 * The one place a job's final packet is chosen: WORK_COMPLETE (with the next GRAB in the same write
 * when `grabAfter` is the slot that may grab), WORK_EXCEPTION, or WORK_WARNING with the reason then WORK_FAIL (WORK_FAIL
 * carries no reason). An interrupted job gets no reply: its connection closes and gearmand requeues it.
 * Returns whether the packet went out (false: the connection is gone and gearmand requeued the job).
 */
export function answerJob(link: WorkerLink, handle: string, outcome: Outcome, failureReply: FailureReply, grabAfter?: RunSlot): boolean {
  switch (outcome.kind) {
    case 'completed':
      return grabAfter ? grabAfter.completeAndGrab(link, handle, outcome.result) : link.sendComplete(handle, outcome.result);
    case 'interrupted':
      return false;
    default: {
      // A payload refusal is always WORK_FAIL: clients of the exception form would otherwise hang (see FailureReply).
      const reply = outcome.kind === 'rejected' ? 'fail' : failureReply;
      if (reply === 'exception') return link.sendException(handle, outcome.reason);
      link.sendWarning(handle, outcome.reason);
      return link.sendFail(handle);
    }
  }
}

export class JobRun {
  readonly startedAt = Date.now();
  /** Set once the job has its final outcome (reply sent or dropped); the handler may still be running. */
  answered = false;
  private execution: Execution | undefined;

  constructor(
    private readonly host: JobRunHost,
    readonly slot: RunSlot,
    readonly link: WorkerLink,
    readonly job: AssignedJob,
  ) {}

  private get observers(): readonly WorkerObserver[] {
    return this.host.options.observers ?? [];
  }

  /** Start the job: find its handler, log it, ask the observers to admit it, then run it. */
  begin(): void {
    const { job, link, slot } = this;
    const options = this.host.options;
    const registration = this.host.registration(job.functionName);
    if (!registration) {
      // gearmand only assigns what we registered; anything else is a server bug. Refuse it loudly.
      options.log.error({ function: job.functionName, handle: job.handle }, 'job for a function this worker did not register');
      this.answered = true;
      answerJob(link, job.handle, { kind: 'failed', reason: `atom-worker has no handler for ${job.functionName}` }, options.failureReply ?? DEFAULT_FAILURE_REPLY);
      this.host.released(this);
      return;
    }
    this.host.jobAssigned();
    const payloadBytes = job.oversizedBytes ?? job.payload.length;
    const info: JobInfo = { handle: job.handle, unique: job.unique, function: job.functionName, name: registration.job.name };
    const event: JobEvent = { info, server: link.name, slot: slot.index, payload: job.payload, payloadBytes, startedAt: this.startedAt };
    const jobLog = options.log.child({ function: info.function, handle: info.handle, unique: info.unique });
    jobLog.info({ payload_bytes: payloadBytes, server: link.name, slot: slot.index }, 'job started');
    // An observer may need the database before the job runs (AtoM's row must exist): wait for it, not blocking.
    let admission: Promise<string | undefined> | undefined;
    for (const observer of this.observers) admission ??= observer.admitJob?.(event);
    if (admission) {
      admission.then((reason) => {
        if (!this.host.isStopped()) this.execute(registration, event, jobLog, reason);
      });
    } else this.execute(registration, event, jobLog, undefined);
  }

  /** Abort the handler (shutdown, lost connection); its outcome becomes `interrupted`. */
  interrupt(reason: string): void {
    this.execution?.interrupt(reason);
  }

  private execute(registration: Registration, event: JobEvent, jobLog: Logger, admissionRefusal: string | undefined): void {
    const { job, link } = this;
    const options = this.host.options;
    for (const observer of this.observers) observer.jobStarted?.(event);
    // A payload over the connection's cap was skipped unread: refused with the reason, like one just over max_payload_bytes.
    let refusal = job.oversizedBytes !== undefined ? payloadTooLarge(job.oversizedBytes, options.maxPayloadBytes) : admissionRefusal;
    for (const observer of this.observers) refusal ??= observer.refuseJob?.(event);
    let handlerLog = jobLog;
    let atom: AtomJobContext | undefined;
    let atomSite: AtomSite | undefined;
    for (const observer of this.observers) {
      const extras = observer.handlerContext?.(event);
      if (extras?.wrapLog) handlerLog = extras.wrapLog(handlerLog);
      atom ??= extras?.atom;
      atomSite ??= extras?.atomSite;
    }
    // The logger batches lines per event-loop turn; "job started" goes out before any job code runs.
    jobLog.flush();
    const execution = executeJob({
      job: registration.job,
      info: event.info,
      payload: job.payload,
      refusal,
      log: handlerLog,
      atom,
      atomSite,
      settings: options.jobSettings,
      timeoutMs: registration.timeoutMs,
      maxPayloadBytes: options.maxPayloadBytes,
      reporter: {
        status: (numerator, denominator) => {
          link.sendStatus(job.handle, numerator, denominator);
          for (const observer of this.observers) observer.jobProgress?.(event, numerator, denominator);
        },
        data: (chunk) => link.sendData(job.handle, chunk),
        warning: (message) => link.sendWarning(job.handle, message),
      },
    });
    this.execution = execution;
    this.host.executionStarted(this);
    execution.outcome.then((outcome) => this.end(event, jobLog, execution, outcome));
  }

  private end(event: JobEvent, jobLog: Logger, execution: Execution, outcome: Outcome): void {
    const { link, slot } = this;
    const handle = event.info.handle;
    const durationMs = Date.now() - event.startedAt;
    this.answered = true;
    const mayGrab = outcome.kind === 'completed' && execution.handlerDone && this.host.accepting() && !slot.stuck;
    const delivered = answerJob(link, handle, outcome, this.host.options.failureReply ?? DEFAULT_FAILURE_REPLY, mayGrab ? slot : undefined);
    const resultBytes = outcome.kind === 'completed' ? (typeof outcome.result === 'string' ? Buffer.byteLength(outcome.result) : outcome.result.length) : undefined;
    const fields = { outcome: outcome.kind, duration_ms: durationMs, ...(outcome.kind !== 'completed' ? { reason: outcome.reason } : { result_bytes: resultBytes }) };
    if (outcome.kind === 'completed') jobLog.info(fields, 'job completed');
    else if (outcome.kind === 'interrupted') jobLog.warn(fields, 'job interrupted; gearmand requeues it');
    else jobLog.warn(fields, outcome.kind === 'rejected' ? 'job rejected: bad payload' : outcome.kind === 'timed_out' ? 'job timed out' : 'job failed');
    if (!delivered && outcome.kind !== 'interrupted') {
      jobLog.warn({ server: link.name }, 'the result could not be delivered: the connection to the job server was lost, and gearmand has requeued the job');
    }
    const reasonDetail = outcome.kind === 'completed' ? {} : { reason: outcome.reason };
    for (const observer of this.observers) {
      observer.jobEnded?.(event, outcome.kind, durationMs, resultBytes !== undefined ? { ...reasonDetail, resultBytes } : reasonDetail);
    }
    this.host.jobAnswered(this);
    if (execution.handlerDone) {
      this.host.released(this);
      return;
    }
    // The outcome came first (timeout, interruption, a stray rejection): wait for the handler, but not forever.
    let abandoned = false;
    const grace = setTimeout(() => {
      abandoned = true;
      jobLog.error({ slot: slot.index, grace_ms: this.host.abortGraceMs }, 'handler ignored its abort signal: slot marked stuck, job abandoned');
      this.host.abandoned(this);
    }, this.host.abortGraceMs);
    execution.settled.then(() => {
      clearTimeout(grace);
      if (!abandoned) {
        this.host.released(this);
        return;
      }
      jobLog.warn({ slot: slot.index }, 'abandoned handler finally returned: slot serves again');
      slot.unstick();
    });
  }
}
