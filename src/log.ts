// The process logger: pino JSON lines on stdout, pretty on a TTY (or --log-format pretty), or appended
// to --log-file. Everything else gets child loggers from here.
import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat } from './config/settings.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  readonly format: LogFormat;
  readonly file?: string | undefined;
  /** Defaults to stdout; tests pass their own stream. */
  readonly stream?: DestinationStream;
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
    const stream = usePretty ? pretty({ destination, colorize: false, sync: true }) : destination;
    return {
      log: pino({ ...base, level: options.level }, stream),
      reopen: () => destination.reopen(),
      flush: () => destination.flushSync(),
    };
  }
  if (usePretty) {
    const stream = pretty({ destination: 1, colorize: process.stdout.isTTY === true, sync: true, translateTime: 'SYS:HH:MM:ss.l' });
    return { log: pino({ ...base, level: options.level }, stream), reopen() {}, flush() {} };
  }
  const destination = pino.destination({ dest: 1, sync: true });
  return { log: pino({ ...base, level: options.level }, destination), reopen() {}, flush: () => destination.flushSync() };
}
