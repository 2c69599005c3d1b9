// A slot runs one job at a time. It holds one connection per job server and owns its running job.
//
// How grabbing works: a slot grabs (GRAB_JOB_ALL) on one connection at a time, only while idle, and
// only on a connection that may have work (just registered, woken by NOOP, or just finished a job).
// The answer is a job (JOB_ASSIGN_ALL: the slot runs it) or NO_JOB; then dispatch.ts decides whether
// that connection is the server's one sleeper (PRE_SLEEP, woken by NOOP) and the slot tries its next
// connection. A job that completes while the slot may go on sends WORK_COMPLETE and the next GRAB in
// one write (completeAndGrab). Everything that grabs is in this file.
import type { AssignedJob, WorkerLink } from '../gearman/workerLink.js';
import { JobRun, type JobRunHost, type RunSlot } from './jobRun.js';

export interface SlotHost extends JobRunHost {
  /** Draining or stopped: a job handed back closes its connection for good. */
  isStopping(): boolean;
}

export class Slot implements RunSlot {
  readonly links: WorkerLink[] = [];
  /** The job this slot runs, from its assignment until its handler returns (or is abandoned). */
  job: JobRun | undefined;
  /** The handler outlived its abort: this slot serves nothing more until it returns. */
  stuck = false;
  /** Connections that may have work: registered, woken by NOOP, or just finished a job. */
  private readonly mayHaveWork = new Set<WorkerLink>();
  /** The connection with a GRAB on the wire, if any. */
  private grabLink: WorkerLink | undefined;
  private nextIndex = 0;

  constructor(
    readonly index: number,
    private readonly host: SlotHost,
  ) {}

  /** The connection registered, or the server woke it (NOOP): there may be work on it. */
  onMayHaveWork(link: WorkerLink): void {
    this.mayHaveWork.add(link);
    this.grabNext();
  }

  /** The server had nothing on this connection (dispatch decides whether it sleeps, then calls grabNext). */
  onNoJob(link: WorkerLink): void {
    this.mayHaveWork.delete(link);
    if (this.grabLink === link) this.grabLink = undefined;
  }

  /** Asked by dispatch to try `link` as the next sleeper for its server; false when this slot cannot. */
  tryAsSleeper(link: WorkerLink): boolean {
    if (this.job !== undefined || this.stuck || !link.isRegistered || link.isGrabbing) return false;
    this.mayHaveWork.add(link);
    this.grabNext();
    return true;
  }

  /** The connection is gone: gearmand has requeued the job it carried, so that run is aborted. */
  onDown(link: WorkerLink): void {
    const job = this.job;
    if (job && job.link === link && !job.answered) {
      this.host.options.log.warn(
        { server: link.name, function: job.job.functionName, handle: job.job.handle },
        'connection dropped while the job ran: gearmand has requeued it, so this run is aborted and its result discarded',
      );
      job.interrupt('connection to the job server was lost');
    }
    this.mayHaveWork.delete(link);
    if (this.grabLink === link) this.grabLink = undefined;
    this.grabNext();
  }

  /** A job was assigned: run it, or hand it back when this slot may not take it. */
  onJob(link: WorkerLink, assigned: AssignedJob): void {
    if (this.grabLink === link) this.grabLink = undefined;
    if (this.job !== undefined || this.stuck || !this.host.accepting()) {
      this.handBack(link, assigned);
      return;
    }
    this.mayHaveWork.add(link);
    this.job = new JobRun(this.host, this, link, assigned);
    this.job.begin();
  }

  /** WORK_COMPLETE and the next GRAB in one write; false when the connection is gone. */
  completeAndGrab(link: WorkerLink, handle: string, result: string | Buffer): boolean {
    const sent = link.completeAndGrab(handle, result);
    if (sent) this.grabLink = link;
    return sent;
  }

  /** The job's handler has returned (or was abandoned): the slot is free again. */
  jobDone(): void {
    this.job = undefined;
    this.grabNext();
  }

  /** An abandoned handler finally returned: serve again. */
  unstick(): void {
    this.stuck = false;
    this.grabNext();
  }

  /** Grab on the next connection that may have work, if idle and allowed. */
  grabNext(): void {
    if (this.job !== undefined || this.stuck || this.grabLink !== undefined || !this.host.accepting()) return;
    const count = this.links.length;
    for (let i = 0; i < count; i++) {
      const link = this.links[(this.nextIndex + i) % count]!;
      if (!this.mayHaveWork.has(link) || !link.isRegistered) continue;
      if (link.grab()) {
        this.grabLink = link;
        this.nextIndex = (this.nextIndex + i + 1) % count;
        return;
      }
    }
  }

  private handBack(link: WorkerLink, assigned: AssignedJob): void {
    this.host.options.log.info({ function: assigned.functionName, handle: assigned.handle, server: link.name, slot: this.index }, 'job handed back to the job server unstarted');
    // Closing the connection is the only way to return a job: gearmand requeues it for another worker.
    if (this.host.isStopping()) link.abort();
    else link.dropConnection();
  }
}
