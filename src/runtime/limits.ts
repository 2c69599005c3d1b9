// Recycling limits (as AtoM's jobs:worker): after so many jobs, past so much memory, or after so long,
// the worker drains and exits 111 so that its supervisor starts a fresh one.

export interface LimitOptions {
  readonly maxJobCount?: number | undefined;
  readonly maxMemUsageKb?: number | undefined;
  /** Already including any random splay. */
  readonly maxRuntimeMs?: number | undefined;
}

export class RecyclingLimits {
  /** Jobs started since the worker began (what --max-job-count counts). */
  startedJobs = 0;
  /** Why the worker must recycle; undefined while no limit is reached. */
  reason: string | undefined;
  private runtimeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LimitOptions) {}

  /** Arm the runtime limit; `reached` is called when it passes. */
  start(reached: (reason: string) => void): void {
    const maxRuntimeMs = this.options.maxRuntimeMs;
    if (maxRuntimeMs === undefined) return;
    this.runtimeTimer = setTimeout(() => reached(`max-runtime of ${Math.round(maxRuntimeMs / 1000)} s reached`), maxRuntimeMs);
    this.runtimeTimer.unref();
  }

  stop(): void {
    if (this.runtimeTimer) clearTimeout(this.runtimeTimer);
  }

  /** A job starts: the last one allowed sets the reason (the worker takes no other). */
  jobStarted(): void {
    this.startedJobs++;
    const max = this.options.maxJobCount;
    if (max !== undefined && this.startedJobs >= max && this.reason === undefined) this.reason = `max-job-count of ${max} reached`;
  }

  /** After a job: is the resident memory over the limit? */
  checkMemory(): void {
    const max = this.options.maxMemUsageKb;
    if (max === undefined || this.reason !== undefined) return;
    const rssKb = Math.round(process.memoryUsage.rss() / 1024);
    if (rssKb > max) this.reason = `max-mem-usage of ${max} kB exceeded (resident ${rssKb} kB)`;
  }
}
