// The DIP folder itself: its METS file, the AIP it describes, and its access copies.
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { DipError, compareCodePoints, isUuid, lastUuid } from './util.js';

/** A DIP's METS file name, as AtoM looks for it at the DIP root. */
export const METS_NAME = /^METS\..*\.xml$/;

/**
 * The first `METS.*.xml` at the DIP root, by name: its real path and size. It must be a file
 * inside the DIP.
 */
export async function findMetsFile(dipDir: string, dipName: string): Promise<{ path: string; size: number }> {
  let entries: Dirent[];
  try {
    entries = await readdir(dipDir, { withFileTypes: true });
  } catch {
    throw new DipError(`DIP folder cannot be read: ${dipName}`);
  }
  const names = entries
    .filter((e) => METS_NAME.test(e.name) && (e.isFile() || e.isSymbolicLink()))
    .map((e) => e.name)
    .sort(compareCodePoints);
  const first = names[0];
  if (first === undefined) throw new DipError(`No METS file (METS.*.xml) at the root of the DIP ${dipName}`);
  const full = path.join(dipDir, first);
  const real = await realpath(full).catch(() => undefined);
  if (real === undefined || !isInside(real, dipDir)) {
    throw new DipError(`METS file ${first} is a link that leads outside the DIP ${dipName}`);
  }
  const info = await stat(real);
  if (!info.isFile()) throw new DipError(`METS file ${first} is not a regular file`);
  return { path: real, size: info.size };
}

export interface AipIdentity {
  uuid: string;
  name: string;
}

/** AIP UUID: the last UUID in the folder name; AIP name: the folder name without its last 37 characters. */
export function aipIdentity(dipName: string, metsFileName: string): AipIdentity {
  const fromFolder = lastUuid(dipName);
  if (fromFolder !== undefined) {
    return { uuid: fromFolder, name: dipName.length > 37 ? dipName.slice(0, -37) : '' };
  }
  // Not Archivematica's naming; the METS file is named after the SIP (= AIP) UUID.
  const fromMets = lastUuid(metsFileName);
  if (fromMets !== undefined) return { uuid: fromMets, name: dipName };
  throw new DipError(`No AIP UUID in the DIP folder name ${dipName} nor in its METS file name`);
}

export interface AccessCopy {
  /** Name in objects/, `<uuid>-<name>`. */
  readonly fileName: string;
  /** Path to read (a symlink inside the DIP is resolved). */
  readonly source: string;
}

export interface AccessIndex {
  /** Whether objects/ exists. */
  readonly present: boolean;
  /** The first (by name) usable access copy for a file UUID. */
  find(uuid: string): AccessCopy | undefined;
  /** Why access copies for a UUID were refused, when they were. */
  refused(uuid: string): string | undefined;
}

/**
 * An access copy. Only the file name is kept per file (the folder is shared), and the full path
 * is made when the file is linked: a 10,000-file DIP would otherwise hold 10,000 long paths.
 */
class AccessFile implements AccessCopy {
  constructor(
    private readonly dir: string,
    readonly fileName: string,
    /** The resolved target, for a symlink. */
    private readonly real: string | null,
  ) {}

  get source(): string {
    return this.real ?? path.join(this.dir, this.fileName);
  }
}

/** Index objects/ once: UUID prefix → first file by name. Linear in the number of files. */
export async function indexAccessCopies(dipDir: string): Promise<AccessIndex> {
  const objectsDir = path.join(dipDir, 'objects');
  let realObjects: string;
  try {
    realObjects = await realpath(objectsDir);
  } catch {
    return { present: false, find: () => undefined, refused: () => undefined };
  }
  if (!isInside(realObjects, dipDir)) throw new DipError('The DIP objects folder is a link that leads outside the DIP');
  const scanned = await scanObjects(objectsDir, realObjects, dipDir);
  if (scanned === undefined) return { present: false, find: () => undefined, refused: () => undefined };
  const { found, refusedReasons } = scanned;
  return {
    present: true,
    find: (uuid) => found.get(uuid),
    refused: (uuid) => (found.has(uuid) ? undefined : refusedReasons.get(uuid)),
  };
}

/** Kept apart from the closures above so that nothing keeps the directory entries alive. */
async function scanObjects(
  objectsDir: string,
  realObjects: string,
  dipDir: string,
): Promise<{ found: Map<string, AccessFile>; refusedReasons: Map<string, string> } | undefined> {
  const found = new Map<string, AccessFile>();
  const refusedReasons = new Map<string, string>();
  let entries: Dirent[];
  try {
    entries = await readdir(realObjects, { withFileTypes: true });
  } catch {
    return undefined;
  }
  entries.sort((a, b) => compareCodePoints(a.name, b.name));
  for (const entry of entries) {
    const name = entry.name;
    const uuid = name.slice(0, 36);
    if (!isUuid(uuid) || found.has(uuid)) continue;
    if (entry.isFile()) {
      found.set(uuid, new AccessFile(objectsDir, name, null));
    } else if (entry.isSymbolicLink()) {
      const full = path.join(objectsDir, name);
      const real = await realpath(full).catch(() => undefined);
      if (real === undefined) {
        refusedReasons.set(uuid, `access copy ${name} is a broken link`);
      } else if (!isInside(real, dipDir)) {
        refusedReasons.set(uuid, `access copy ${name} is a link that leads outside the DIP`);
      } else if (!(await stat(real)).isFile()) {
        refusedReasons.set(uuid, `access copy ${name} is not a regular file`);
      } else {
        found.set(uuid, new AccessFile(objectsDir, name, real));
      }
    }
  }
  entries.length = 0;
  return { found, refusedReasons };
}

/** Whether `real` is strictly inside `dir` (both real paths). */
function isInside(real: string, dir: string): boolean {
  return real.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
}
