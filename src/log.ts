// The process logger: pino JSON lines on stdout, pretty on a TTY (or --log-format pretty), or appended
// to --log-file. Everything else gets child loggers from here.
import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { LogFormat } from './config/settings.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  readonly format: LogFormat;
  readonly file?: string | undefined;
  /** Defaults to stdout; tests pass their own stream. */
  readonly stream?: DestinationStream;
}

/**
 * JSON lines logged in one event-loop turn leave in one write at the end of that turn (setImmediate),
 * instead of one synchronous write(2) per line. `flush()` (pino's `logger.flush()`) writes what is
 * pending at once: the worker calls it right before a handler runs, so a job's "job started" line is
 * out before any of the job's code runs, however long it blocks. Past 64 KiB pending it writes at once.
 * Writes stay synchronous (SonicBoom sync mode, EAGAIN retried), so nothing is lost to a crash that
 * happens after the turn, and `flushSync()` on exit leaves nothing behind.
 */
export class TurnBatchedStream {
  private pending: string[] = [];
  private pendingChars = 0;
  private scheduled = false;
  private readonly flushBound = (): void => {
    this.scheduled = false;
    this.writePending();
  };

  constructor(
    private readonly target: { write(data: string): unknown; flushSync(): void },
    private readonly maxPendingChars = 64 * 1024,
  ) {}

  write(line: string): boolean {
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= this.maxPendingChars) this.writePending();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushBound);
    }
    return true;
  }

  /** pino's logger.flush(): write what is pending now. */
  flush(callback?: (error?: Error) => void): void {
    this.writePending();
    callback?.();
  }

  /** Write what is pending and have the destination flush (and fsync) synchronously: for exit paths. */
  flushSync(): void {
    this.writePending();
    this.target.flushSync();
  }

  private writePending(): void {
    if (this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    this.target.write(data);
  }
}

/** pino-pretty (and its dependencies) load only for pretty output: JSON logging never pays for them. */
function pretty(options: PinoPretty.PrettyOptions): PinoPretty.PrettyStream {
  const load = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return load(options);
}

export interface ProcessLogger {
  readonly log: Logger;
  /** Reopen the log file (after logrotate moved it); a no-op on stdout. */
  reopen(): void;
  /** Write out anything buffered; call before exiting. */
  flush(): void;
}

export function createLogger(options: LoggerOptions): ProcessLogger {
  const base = { base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (options.stream) {
    return { log: pino({ ...base, level: options.level }, options.stream), reopen() {}, flush() {} };
  }
  const usePretty = options.format === 'pretty' || (options.format === 'auto' && !options.file && process.stdout.isTTY === true);
  if (options.file) {
    const destination = pino.destination({ dest: options.file, append: true, mkdir: true, sync: true });
    if (usePretty) {
      const stream = pretty({ destination, colorize: false, sync: true });
      return { log: pino({ ...base, level: options.level }, stream), reopen: () => destination.reopen(), flush: () => destination.flushSync() };
    }
    const batched = new TurnBatchedStream(destination);
    return {
      log: pino({ ...base, level: options.level }, batched),
      reopen: () => {
        batched.flush();
        destination.reopen();
      },
      flush: () => batched.flushSync(),
    };
  }
  if (usePretty) {
    const stream = pretty({ destination: 1, colorize: process.stdout.isTTY === true, sync: true, translateTime: 'SYS:HH:MM:ss.l' });
    return { log: pino({ ...base, level: options.level }, stream), reopen() {}, flush() {} };
  }
  const batched = new TurnBatchedStream(pino.destination({ dest: 1, sync: true }));
  return { log: pino({ ...base, level: options.level }, batched), reopen() {}, flush: () => batched.flushSync() };
}
