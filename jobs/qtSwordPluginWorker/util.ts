// Small helpers shared by the DIP ingest modules.
import { lstat, opendir, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';

/** AtoM's UUID pattern (lower-case hex, as Archivematica writes them). */
const UUID_PATTERN = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
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

const REMOVE_BATCH = 32;

/**
 * `rm -rf` with bounded memory: the folder is read in small batches and removed a batch at a
 * time. (fs.rm's recursive removal starts one operation per entry at once: on a package with
 * 10,000 objects that is 10,000 pending requests, about 12 MB of native memory.) Links are
 * removed, never followed. A missing path is not an error.
 */
export async function removeTree(target: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await lstat(target)).isDirectory();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  if (!isDir) {
    await unlink(target).catch(ignoreMissing);
    return;
  }
  // Some file systems skip entries when a folder changes while it is read: read it again then.
  for (let pass = 0; ; pass += 1) {
    const dir = await opendir(target, { bufferSize: REMOVE_BATCH });
    let batch: Promise<void>[] = [];
    for await (const entry of dir) {
      const child = path.join(target, entry.name);
      batch.push(entry.isDirectory() ? removeTree(child) : unlink(child).catch(ignoreMissing));
      if (batch.length >= REMOVE_BATCH) {
        await Promise.all(batch);
        batch = [];
      }
    }
    await Promise.all(batch);
    try {
      await rmdir(target);
      return;
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT') return;
      if (code !== 'ENOTEMPTY' || pass >= 2) throw error;
    }
  }
}

function ignoreMissing(error: unknown): void {
  if (errorCode(error) !== 'ENOENT') throw error;
}

export function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : '';
}
