// A slot runs one job at a time. It holds one connection per job server and grabs on exactly one of
// them, only while idle; a connection that had no job sleeps (PRE_SLEEP) until the server wakes it.
import type { AssignedJob, WorkerLink } from '../gearman/workerLink.js';

export interface SlotJob {
  readonly link: WorkerLink;
  readonly job: AssignedJob;
  readonly startedAt: number;
  /** Set once the job has a final outcome (reply sent or dropped); the handler may still be running. */
  decided: boolean;
}

export interface SlotHost {
  /** May this slot take new work now? (not draining, not quiet, limits not reached) */
  accepting(): boolean;
  /** A job arrived for this slot; the host runs it and calls slot.finish() when the handler has settled. */
  run(slot: Slot, link: WorkerLink, job: AssignedJob): void;
  /** A job arrived that this slot must not run; the host hands it back to the server. */
  handBack(slot: Slot, link: WorkerLink, job: AssignedJob): void;
}

export class Slot {
  readonly links: WorkerLink[] = [];
  /** Connections that may have work: registered, woken by NOOP, or just finished a job. */
  private readonly mayHaveWork = new Set<WorkerLink>();
  private grabLink: WorkerLink | undefined;
  private nextIndex = 0;
  current: SlotJob | undefined;
  /** The handler outlived its abort: this slot serves nothing more until it returns. */
  stuck = false;

  constructor(
    readonly index: number,
    private readonly host: SlotHost,
  ) {}

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** The connection registered, or the server woke it (NOOP): there may be work on it. */
  onMayHaveWork(link: WorkerLink): void {
    this.mayHaveWork.add(link);
    this.pump();
  }

  /** The server had nothing on this connection; the host decides whether it sleeps, then pumps. */
  onNoJob(link: WorkerLink): void {
    this.mayHaveWork.delete(link);
    if (this.grabLink === link) this.grabLink = undefined;
  }

  /** Ask this slot to try `link` (recruited as the next listener for its server). */
  recruit(link: WorkerLink): boolean {
    if (this.current !== undefined || this.stuck || !link.isRegistered || link.isGrabbing) return false;
    this.mayHaveWork.add(link);
    this.pump();
    return true;
  }

  onDown(link: WorkerLink): void {
    this.mayHaveWork.delete(link);
    if (this.grabLink === link) this.grabLink = undefined;
    this.pump();
  }

  onJob(link: WorkerLink, job: AssignedJob): void {
    if (this.grabLink === link) this.grabLink = undefined;
    if (this.current !== undefined || this.stuck || !this.host.accepting()) {
      this.host.handBack(this, link, job);
      return;
    }
    this.mayHaveWork.add(link);
    this.current = { link, job, startedAt: Date.now(), decided: false };
    this.host.run(this, link, job);
  }

  /** The job has its reply; if the link grabbed again in the same write, note that. */
  noteGrabbing(link: WorkerLink): void {
    this.grabLink = link;
  }

  /** The handler has settled (or been given up on); the slot is free again. */
  finish(): void {
    this.current = undefined;
    this.pump();
  }

  /** Grab on the next connection that may have work, if idle and allowed. */
  pump(): void {
    if (this.current !== undefined || this.stuck || this.grabLink !== undefined || !this.host.accepting()) return;
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
}
