// Following a submitted job for `submit`: a progress bar on a terminal (a plain line per update
// otherwise), WORK_DATA to stdout and warnings to stderr as they come. A foreground job reports its
// own outcome; a background one is followed with GET_STATUS until the server forgets it.
import { existsSync } from 'node:fs';
import type { GearmanClient } from '../gearman/client.js';
import type { JobStatus, SubmitOptions } from '../gearman/clientTypes.js';

/** `[######--------] 3/5 60%` */
export function progressBar(numerator: number, denominator: number, width = 30): string {
  const fraction = denominator > 0 ? Math.min(1, Math.max(0, numerator / denominator)) : 0;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${numerator}/${denominator} ${Math.round(fraction * 100)}%`;
}

/** What the job sent while it ran, and how it is shown as it comes. */
export class JobDisplay {
  readonly progress: Array<[number, number]> = [];
  readonly data: string[] = [];
  readonly warnings: string[] = [];
  private barShown = false;
  // atom-worker sends a failure's reason as a WORK_WARNING just before WORK_FAIL: a warning is held
  // until the next packet, so that the reason is printed once, in the "failed:" line.
  private heldWarning: string | undefined;
  private readonly tty: boolean;

  constructor(private readonly quiet: boolean) {
    this.tty = process.stderr.isTTY === true && !quiet;
  }

  private releaseWarning(): void {
    if (this.heldWarning === undefined) return;
    this.warnings.push(this.heldWarning);
    if (!this.quiet) {
      this.clearBar();
      process.stderr.write(`warning: ${this.heldWarning}\n`);
    }
    this.heldWarning = undefined;
  }

  clearBar(): void {
    if (this.barShown) process.stderr.write('\r\x1b[K');
    this.barShown = false;
  }

  onStatus(numerator: number, denominator: number): void {
    this.releaseWarning();
    this.progress.push([numerator, denominator]);
    if (this.quiet) return;
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${progressBar(numerator, denominator)}`);
      this.barShown = true;
    } else process.stderr.write(`progress ${numerator}/${denominator}\n`);
  }

  onData(chunk: Buffer): void {
    this.releaseWarning();
    this.data.push(chunk.toString());
    if (this.quiet) return;
    this.clearBar();
    process.stdout.write(chunk);
    if (!chunk.toString().endsWith('\n')) process.stdout.write('\n');
  }

  onWarning(chunk: Buffer): void {
    this.releaseWarning();
    this.heldWarning = chunk.toString();
  }

  /** The end: a failure's reason (the held warning), the other warnings printed. */
  finish(failed: boolean): string | undefined {
    const reason = failed ? this.heldWarning : undefined;
    if (failed) this.heldWarning = undefined;
    else this.releaseWarning();
    this.clearBar();
    return reason;
  }

  callbacks(): Pick<SubmitOptions, 'onStatus' | 'onData' | 'onWarning'> {
    return {
      onStatus: (numerator, denominator) => this.onStatus(numerator, denominator),
      onData: (chunk) => this.onData(chunk),
      onWarning: (chunk) => this.onWarning(chunk),
    };
  }
}

export class FollowTimeout extends Error {
  override readonly name = 'FollowTimeout';
}

/** Reject with FollowTimeout after `timeoutMs` (never when undefined). */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (timeoutMs === undefined) return promise;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new FollowTimeout(`gave up waiting after ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface BackgroundEnd {
  /** The outcome from this machine's journal, when the job ran here and was journalled. */
  readonly journalled?: { status: string; error: string | null; durationMs: number | null };
}

const STATUS_POLL_MS = 500;

/**
 * Poll GET_STATUS until the server no longer knows the job (it ended), showing progress as it
 * changes. gearmand tells no client a background job's outcome; the journal may.
 */
export async function followBackground(client: GearmanClient, handle: string, server: string, display: JobDisplay, signal: AbortSignal): Promise<void> {
  let last: JobStatus | undefined;
  while (!signal.aborted) {
    const status = await client.getStatus(handle, server);
    if (!status.known) return;
    if (status.denominator > 0 && (last === undefined || last.numerator !== status.numerator || last.denominator !== status.denominator)) {
      display.onStatus(status.numerator, status.denominator);
    }
    last = status;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STATUS_POLL_MS);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}

/**
 * The journal's record of a background job that ran on this machine, if any. Rows are written in
 * batches every 50 ms, so a job that just ended may need a moment to appear; a second is plenty.
 */
export async function journalledOutcome(journalPath: string | undefined, handle: string): Promise<BackgroundEnd['journalled']> {
  if (journalPath === undefined || !existsSync(journalPath)) return undefined;
  const { JournalReader } = await import('../journal/reader.js');
  const reader = new JournalReader(journalPath);
  try {
    for (let attempt = 0; attempt < 10; attempt++) {
      // The newest run of the handle: gearmand reuses handles only after a restart.
      const row = reader.show(handle).at(-1);
      if (row !== undefined && row.status !== 'running') return { status: row.status, error: row.error, durationMs: row.duration_ms };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return undefined;
  } finally {
    reader.close();
  }
}

/** The result as JSON when it is JSON, else as text. */
export function resultValue(result: Buffer): unknown {
  const text = result.toString();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

