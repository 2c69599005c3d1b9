// Small helpers shared by the DIP ingest modules.

/** AtoM's UUID pattern (lower-case hex, as Archivematica writes them). */
export const UUID_PATTERN = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const UUID_EXACT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(value: string): boolean {
  return UUID_EXACT.test(value);
}

/** The last UUID appearing in `subject`, as AtoM's getUUID() picks it. */
export function lastUuid(subject: string): string | undefined {
  const all = subject.match(UUID_PATTERN);
  return all ? all[all.length - 1] : undefined;
}

/** A failure with a one-line message, meant to be the job's failure reason. */
export class DipError extends Error {
  constructor(message: string) {
    super(oneLine(message));
    this.name = 'DipError';
  }
}

export function oneLine(message: string): string {
  return message.replace(/[\r\n]+\s*/g, ' ').trim();
}

/** Throw when the job was aborted (timeout, shutdown). */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    const detail = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : '';
    throw new DipError(`DIP ingest aborted${detail ? `: ${detail}` : ''}`);
  }
}

/**
 * PHP strcasecmp() order: ASCII letters folded to lower case, then compared by code point
 * (byte order of UTF-8 is code point order).
 */
export function strcasecmp(a: string, b: string): number {
  return compareCodePoints(asciiLower(a), asciiLower(b));
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** Compare strings by code point (stable, locale-free). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n) {
    const ca = a.codePointAt(i) ?? 0;
    const cb = b.codePointAt(i) ?? 0;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
