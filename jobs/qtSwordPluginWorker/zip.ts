// Safe extraction of an uploaded DIP zip into a private folder.
// Refused: entries escaping the folder (absolute, `..`, backslashes), symlink entries, duplicate
// entries, and archives with more entries or more expanded bytes than allowed. Bytes are counted
// as they are written, whatever the headers claim.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Entry, ZipFile } from 'yauzl';
import { DipError, oneLine, throwIfAborted } from './util.js';

export interface ZipLimits {
  maxBytes: number;
  maxEntries: number;
  signal?: AbortSignal;
}

export interface ZipStats {
  entries: number;
  bytes: number;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/** Extract `zipPath` into the existing, empty folder `dest`. */
export async function extractZip(zipPath: string, dest: string, limits: ZipLimits): Promise<ZipStats> {
  const yauzl = (await import('yauzl')).default;
  const label = path.basename(zipPath);
  const reject = (why: string): DipError => new DipError(`Zip archive ${label} rejected: ${why}`);

  let zip: ZipFile;
  try {
    zip = await yauzl.openPromise(zipPath, {
      lazyEntries: true,
      autoClose: true,
      decodeStrings: true,
      validateEntrySizes: true,
      strictFileNames: true,
    });
  } catch (error) {
    throw reject(describe(error));
  }
  if (zip.entryCount > limits.maxEntries) {
    zip.close();
    throw reject(`it holds ${zip.entryCount} entries, more than the ${limits.maxEntries} allowed`);
  }

  const stats: ZipStats = { entries: 0, bytes: 0 };
  const seen = new Set<string>();
  const root = path.resolve(dest);

  try {
    await new Promise<void>((resolve, fail) => {
      let settled = false;
      const done = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        if (error === undefined) resolve();
        else fail(error);
      };
      zip.on('error', (error: unknown) => done(error instanceof DipError ? error : reject(describe(error))));
      zip.on('end', () => done());
      zip.on('entry', (entry: Entry) => {
        handleEntry(entry).then(
          () => {
            if (!settled) zip.readEntry();
          },
          (error: unknown) => {
            zip.close();
            done(error);
          },
        );
      });
      zip.readEntry();
    });
  } finally {
    if (zip.isOpen) zip.close();
  }
  return stats;

  async function handleEntry(entry: Entry): Promise<void> {
    if (limits.signal) throwIfAborted(limits.signal);
    stats.entries += 1;
    if (stats.entries > limits.maxEntries) {
      throw reject(`more than the ${limits.maxEntries} entries allowed`);
    }
    const name = entry.fileName;
    if (name.includes('\0') || name.includes('\\') || path.posix.isAbsolute(name) || /^[A-Za-z]:/.test(name)) {
      throw reject(`entry ${JSON.stringify(name)} escapes the extraction folder`);
    }
    const segments = name.split('/');
    if (segments.includes('..')) throw reject(`entry ${JSON.stringify(name)} escapes the extraction folder`);
    const target = path.resolve(root, ...segments.filter((s) => s !== '' && s !== '.'));
    if (target !== root && !target.startsWith(root + path.sep)) {
      throw reject(`entry ${JSON.stringify(name)} escapes the extraction folder`);
    }
    // Unix mode lives in the high 16 bits of the external attributes (when made on Unix).
    const madeOnUnix = entry.versionMadeBy >> 8 === 3;
    const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
    if (mode === S_IFLNK) throw reject(`entry ${JSON.stringify(name)} is a symbolic link`);
    const isDir = name.endsWith('/') || (madeOnUnix && mode === S_IFDIR);
    if (madeOnUnix && mode !== 0 && mode !== S_IFREG && mode !== S_IFDIR) {
      throw reject(`entry ${JSON.stringify(name)} is not a regular file or folder`);
    }
    if (target === root) {
      if (isDir) return;
      throw reject(`entry ${JSON.stringify(name)} has no file name`);
    }
    const key = target;
    if (seen.has(key)) throw reject(`entry ${JSON.stringify(name)} appears twice`);
    seen.add(key);
    if (isDir) {
      await mkdir(target, { recursive: true, mode: 0o700 });
      return;
    }
    if (entry.isEncrypted()) throw reject(`entry ${JSON.stringify(name)} is encrypted`);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    const input = await zip.openReadStreamPromise(entry);
    const counter = new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback) {
        stats.bytes += chunk.length;
        if (stats.bytes > limits.maxBytes) {
          callback(reject(`it expands beyond the ${limits.maxBytes} bytes allowed`));
          return;
        }
        callback(null, chunk);
      },
    });
    try {
      await pipeline(input, counter, createWriteStream(target, { flags: 'wx', mode: 0o600 }));
    } catch (error) {
      if (error instanceof DipError) throw error;
      throw reject(describe(error));
    }
  }
}

export function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // Not the archive's fault: say what the operator must do.
  if (code === 'ENOSPC' || code === 'EDQUOT') return `the disk is full: no space left to extract it in temp_dir (${code})`;
  const message = error instanceof Error ? error.message : String(error);
  if (/^(invalid relative path|absolute path|invalid characters in fileName)/.test(message)) {
    return `an entry escapes the extraction folder (${oneLine(message)})`;
  }
  return oneLine(message);
}
