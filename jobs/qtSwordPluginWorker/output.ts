// Atomic writing of the import package into dip_output_dir/<aip-uuid>/.
// Everything is built in a private `.tmp-*` folder inside dip_output_dir (same file system, so
// the final rename is atomic); a previous package for the same AIP is renamed away, the new one
// renamed in, the old one removed. A failure removes the temporary folder and leaves any previous
// package untouched.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, copyFile, link, mkdir, mkdtemp, open, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AccessCopy } from './dip.js';
import { DipError, errorCode, removeTree, throwIfAborted } from './util.js';
import { buildPrefix, replacedPrefix } from './leftovers.js';

export interface PackageItem {
  access: AccessCopy;
  /** Called with the copied file's size. */
  setSize(size: number): void;
}

export interface PackageContent {
  items: readonly PackageItem[];
  /** descriptions.csv, produced in pieces once every object is in place. */
  csv(): Iterable<string>;
  /** manifest.json, produced in pieces once every object is in place. */
  manifest(): Iterable<string>;
}

export interface WriteOptions {
  outputRoot: string;
  aipUuid: string;
  signal: AbortSignal;
  onItem(done: number): void;
}

const LINK_FALLBACK_CODES = new Set(['EXDEV', 'EPERM', 'EACCES', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);
const REPLACE_CODES = new Set(['ENOTEMPTY', 'EEXIST', 'ENOTDIR', 'EISDIR']);

/** The final folder a package for `aipUuid` goes to. */
export function packageDir(outputRoot: string, aipUuid: string): string {
  return path.join(outputRoot, aipUuid);
}

/** Build the package and move it into place. Returns the final folder. */
export async function writePackage(content: PackageContent, options: WriteOptions): Promise<string> {
  const { outputRoot, aipUuid, signal } = options;
  const finalDir = packageDir(outputRoot, aipUuid);
  await mkdir(outputRoot, { recursive: true });
  const temp = await mkdtemp(path.join(outputRoot, buildPrefix()));
  try {
    const objectsDir = path.join(temp, 'objects');
    await mkdir(objectsDir);
    let done = 0;
    for (const item of content.items) {
      throwIfAborted(signal);
      const target = path.join(objectsDir, item.access.fileName);
      await linkOrCopy(item.access, target);
      item.setSize((await stat(target)).size);
      done += 1;
      options.onItem(done);
    }
    throwIfAborted(signal);
    await writeText(path.join(temp, 'descriptions.csv'), content.csv());
    await writeText(path.join(temp, 'manifest.json'), content.manifest());
    await chmod(temp, 0o755);
    await moveIntoPlace(temp, finalDir, outputRoot, aipUuid);
  } catch (error) {
    await removeTree(temp);
    throw error;
  }
  return finalDir;
}

/** Hard link when possible (the link survives removal of a temporary extraction), else copy. */
async function linkOrCopy(access: AccessCopy, target: string): Promise<void> {
  try {
    await link(access.source, target);
    return;
  } catch (error) {
    if (!LINK_FALLBACK_CODES.has(errorCode(error))) throw accessError(access, error);
  }
  try {
    await copyFile(access.source, target, constants.COPYFILE_EXCL);
  } catch (error) {
    throw accessError(access, error);
  }
}

function accessError(access: AccessCopy, error: unknown): DipError {
  const code = errorCode(error);
  return new DipError(`Access copy objects/${access.fileName} cannot be copied${code ? ` (${code})` : ''}`);
}

/**
 * Pieces are joined into batches of at most this many characters before each write. Small on
 * purpose: a batch (and the pieces it is made of) then dies young in V8's new space instead of
 * surviving a scavenge into old space, and the joined string stays below V8's large-object size
 * (128 KiB) even when it holds two-byte characters. Memory stays flat whatever the file size.
 */
const WRITE_BATCH_CHARS = 32 * 1024;

/** Write pieces to a new file, batching small pieces. */
async function writeText(file: string, pieces: Iterable<string>): Promise<void> {
  const handle = await open(file, 'wx', 0o644);
  try {
    let batch = '';
    for (const piece of pieces) {
      batch += piece;
      if (batch.length >= WRITE_BATCH_CHARS) {
        await handle.write(batch);
        batch = '';
      }
    }
    if (batch.length > 0) await handle.write(batch);
  } finally {
    await handle.close();
  }
}

async function moveIntoPlace(temp: string, finalDir: string, outputRoot: string, aipUuid: string): Promise<void> {
  try {
    await rename(temp, finalDir);
    return;
  } catch (error) {
    if (!REPLACE_CODES.has(errorCode(error))) throw error;
  }
  // A previous package is there: swap it out, then remove it.
  const old = path.join(outputRoot, `${replacedPrefix(aipUuid)}${randomBytes(6).toString('hex')}`);
  await rename(finalDir, old);
  try {
    await rename(temp, finalDir);
  } catch (error) {
    await rename(old, finalDir).catch(() => undefined);
    throw error;
  }
  await removeTree(old);
}
