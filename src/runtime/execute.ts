// Run one job: decode and validate its payload, call the handler with a context, enforce its time
// limit, and turn whatever happens into one Outcome. Shared by the worker loop and `atom-worker exec`.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';
import type { AtomJobContext, AtomSite, JobContext, JobInfo } from '../types.js';
import type { LoadedJob } from './loadJobs.js';

export type Outcome =
  /** The handler returned; `result` is what goes back to the client. */
  | { readonly kind: 'completed'; readonly result: string | Buffer }
  /** The payload was refused before the handler ran (always WORK_WARNING with the reason, then WORK_FAIL). */
  | { readonly kind: 'rejected'; readonly reason: string }
  /** The handler threw, rejected, or produced something unsendable (answered per failure_reply: see answerJob in jobRun.ts). */
  | { readonly kind: 'failed'; readonly reason: string }
  /** The time limit passed (reason `timed out after T ms`, answered as a failure). */
  | { readonly kind: 'timed_out'; readonly reason: string }
  /** Aborted by the worker (shutdown, lost connection): no reply, gearmand requeues it. */
  | { readonly kind: 'interrupted'; readonly reason: string };

export interface JobReporter {
  status(numerator: number, denominator: number): void;
  data(chunk: string | Uint8Array): void;
  warning(message: string): void;
}

export interface ExecuteOptions {
  readonly job: LoadedJob;
  readonly info: JobInfo;
  readonly payload: Buffer;
  readonly log: Logger;
  readonly reporter: JobReporter;
  readonly settings: Readonly<Record<string, unknown>>;
  /** The effective time limit: the job's own, else the worker default. */
  readonly timeoutMs: number | undefined;
  readonly maxPayloadBytes: number;
  /** AtoM's job row, when the payload names one and the database is configured. */
  readonly atom?: AtomJobContext | undefined;
  readonly atomSite?: AtomSite | undefined;
  /** Set when the job must not run at all (the worker answers it as rejected with this reason). */
  readonly refusal?: string | undefined;
}

export interface Execution {
  /** Resolves once with the job's outcome: the handler's, or a timeout/interruption that came first. */
  readonly outcome: Promise<Outcome>;
  /** Resolves when the handler itself has returned or thrown; it may never, for a stuck handler. */
  readonly settled: Promise<void>;
  /** Abort `ctx.signal`; the outcome becomes `interrupted` unless the handler already finished. */
  interrupt(reason: string): void;
  /** True once the handler has returned or thrown. */
  readonly handlerDone: boolean;
}

/** Which job an asynchronous error belongs to (unhandled rejections, uncaught exceptions). */
interface JobScope {
  readonly info: JobInfo;
  fail(reason: string): boolean;
}

const jobScope = new AsyncLocalStorage<JobScope>();

/** The job whose code is running in the current async context, if any. */
export function currentJobScope(): JobScope | undefined {
  return jobScope.getStore();
}

/** One line, bounded: replies and logs must stay readable. */
export function oneLine(text: string, max = 2000): string {
  const flat = text.replace(/\s*\r?\n\s*/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function describeThrown(value: unknown): string {
  if (value instanceof Error) return oneLine(value.message || value.name);
  if (typeof value === 'string') return oneLine(value);
  try {
    return oneLine(`non-Error thrown: ${JSON.stringify(value) ?? String(value)}`);
  } catch {
    return oneLine(`non-Error thrown: ${String(value)}`);
  }
}

type Decoded = { ok: true; value: unknown } | { ok: false; reason: string };

/** The refusal of a payload over max_payload_bytes, whether it was read or skipped unread. */
export function payloadTooLarge(payloadBytes: number, maxPayloadBytes: number): string {
  return `payload of ${payloadBytes} bytes exceeds the ${maxPayloadBytes}-byte limit`;
}

export function decodePayload(job: LoadedJob, payload: Buffer, maxPayloadBytes: number): Decoded {
  if (payload.length > maxPayloadBytes) return { ok: false, reason: payloadTooLarge(payload.length, maxPayloadBytes) };
  if (job.payloadMode === 'raw') return { ok: true, value: payload };
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `payload is not valid JSON: ${describeThrown(error)}` };
  }
  if (job.payloadMode === 'json') return { ok: true, value };
  const schema = job.definition.payload as { safeParse(input: unknown): SafeParseResult };
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = parsed.error?.issues ?? [];
  const described = issues
    .slice(0, 3)
    .map((issue) => `${issue.path && issue.path.length > 0 ? issue.path.join('.') : '(payload)'}: ${issue.message}`)
    .join('; ');
  return { ok: false, reason: oneLine(`payload does not match the ${job.name} schema: ${described || 'invalid'}`) };
}

interface SafeParseResult {
  success: boolean;
  data?: unknown;
  error?: { issues?: Array<{ path?: PropertyKey[]; message: string }> };
}

/** What a handler's return value is sent as. Throws when it cannot be serialised. */
export function serialiseResult(value: unknown): string | Buffer {
  if (value === undefined || value === null) return value === null ? 'null' : '';
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const json = JSON.stringify(value);
  if (json === undefined) throw new Error(`result of type ${typeof value} cannot be serialised to JSON`);
  return json;
}

/**
 * ctx.signal's AbortController, made on first use: most jobs never look at their signal, and an
 * AbortSignal costs more to create than the rest of a trivial job's bookkeeping. Same semantics:
 * the first abort reason wins, and a signal first read after the abort is already aborted.
 */
class LazyAbort {
  private controller: AbortController | undefined;
  private abortReason: unknown;
  aborted = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get reason(): unknown {
    return this.abortReason;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

export function executeJob(options: ExecuteOptions): Execution {
  const controller = new LazyAbort();
  let resolveOutcome!: (outcome: Outcome) => void;
  let decided = false;
  const outcome = new Promise<Outcome>((resolve) => (resolveOutcome = resolve));
  let timer: NodeJS.Timeout | undefined;
  const decide = (result: Outcome): boolean => {
    if (decided) return false;
    decided = true;
    if (timer) clearTimeout(timer);
    resolveOutcome(result);
    return true;
  };

  const decoded: Decoded =
    options.refusal !== undefined ? { ok: false, reason: options.refusal } : decodePayload(options.job, options.payload, options.maxPayloadBytes);
  if (!decoded.ok) {
    decide({ kind: 'rejected', reason: decoded.reason });
    return {
      outcome,
      settled: Promise.resolve(),
      interrupt() {},
      handlerDone: true,
    };
  }

  const ctx: JobContext = {
    log: options.log,
    progress: (numerator, denominator) => {
      if (!decided) options.reporter.status(numerator, denominator);
    },
    data: (chunk) => {
      if (!decided) options.reporter.data(chunk);
    },
    warning: (message) => {
      if (!decided) options.reporter.warning(message);
    },
    get signal() {
      return controller.signal;
    },
    job: options.info,
    settings: options.settings,
    atom: options.atom,
    atomSite: options.atomSite,
  };

  if (options.timeoutMs !== undefined) {
    const limit = options.timeoutMs;
    timer = setTimeout(() => {
      const reason = `timed out after ${limit} ms`;
      if (decide({ kind: 'timed_out', reason })) controller.abort(new DOMException(reason, 'TimeoutError'));
    }, limit);
  }

  const scope: JobScope = {
    info: options.info,
    fail: (reason) => decide({ kind: 'failed', reason }),
  };
  let handlerDone = false;
  const settled = jobScope.run(scope, async () => {
    try {
      const value = await options.job.definition.run(decoded.value, ctx);
      let result: string | Buffer;
      try {
        result = serialiseResult(value);
      } catch (error) {
        decide({ kind: 'failed', reason: `the handler's result could not be serialised: ${describeThrown(error)}` });
        return;
      }
      decide({ kind: 'completed', result });
    } catch (error) {
      if (controller.aborted && !decided) {
        decide({ kind: 'interrupted', reason: describeThrown(controller.reason) });
      } else decide({ kind: 'failed', reason: describeThrown(error) });
    } finally {
      handlerDone = true;
    }
  });

  return {
    outcome,
    settled,
    get handlerDone() {
      return handlerDone;
    },
    interrupt(reason) {
      if (decide({ kind: 'interrupted', reason })) controller.abort(new DOMException(reason, 'AbortError'));
    },
  };
}
