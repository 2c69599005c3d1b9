// A handler's `ctx.log` that also hands each line at info and above to AtoM's job row, as AtoM's
// own jobs log through arJobLogger. The worker's own lines ("job started", …) use the plain logger.
import { format } from 'node:util';
import type { Logger } from 'pino';
import type { AtomPriority } from './jobLine.js';

const PRIORITIES: Readonly<Record<string, AtomPriority>> = { info: 'info', warn: 'warning', error: 'err', fatal: 'err' };

/** pino's call forms: (msg, ...args), (obj, msg?, ...args), (error, msg?, ...args). */
export function messageOf(args: readonly unknown[]): string | undefined {
  const [first, ...rest] = args;
  if (typeof first === 'string') return format(first, ...rest);
  if (typeof rest[0] === 'string') return format(rest[0], ...rest.slice(1));
  if (first instanceof Error) return first.message;
  return undefined;
}

export function teeLogger(logger: Logger, line: (priority: AtomPriority, message: string) => void): Logger {
  return new Proxy(logger, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || typeof value !== 'function') return value;
      const priority = PRIORITIES[property];
      if (priority) {
        return (...args: unknown[]) => {
          const message = messageOf(args);
          if (message !== undefined) line(priority, message);
          return (value as (...rest: unknown[]) => unknown).apply(target, args);
        };
      }
      if (property === 'child') return (...args: unknown[]) => teeLogger((value as (...rest: unknown[]) => Logger).apply(target, args), line);
      return value;
    },
  });
}
