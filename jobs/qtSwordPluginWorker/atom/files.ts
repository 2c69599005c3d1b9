// Digital object files, put where AtoM keeps them (QubitDigitalObject::getAssetPath):
// <atom root>/<upload_dir>/r/<repository slug or null>/<c0>/<c1>/<c2>/<sha256>/<name>, with a
// reference image and a thumbnail beside each image. Every file and folder made is written to a
// list in temp_dir before it is made, so a failed ingest removes exactly what it added, and the
// next ingest removes what a killed one left (once it knows that ingest never committed).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, type FileHandle, mkdir, open, readdir, readFile, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ownerGone, ownerTag } from '../leftovers.js';
import { DipError, errorCode, throwIfAborted } from '../util.js';
import { derivativeName, digitalObjectName, mediaTypeOf, mimeTypeOf } from './media.js';
import { TERM } from './terms.js';

export interface PlacedDerivative {
  readonly usageId: number;
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface PlacedFile {
  readonly name: string;
  /** As `digital_object.path` holds it: `/uploads/r/null/a/b/c/<sha256>/`. */
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly mimeType: string;
  readonly mediaTypeId: number | null;
  readonly derivatives: readonly PlacedDerivative[];
  /** Why an image got no derivatives (it could not be read as one). */
  readonly derivativeError?: string;
}

export interface UploadsOptions {
  readonly atomRootDir: string;
  readonly uploadDir: string;
  readonly repositorySlug: string;
  /** Where the list of files made is kept (temp_dir). */
  readonly listDir: string;
  readonly aipUuid: string;
  readonly referenceMaxWidth: number;
}

const LIST_PREFIX = 'atom-worker-uploads-';
/** Files up to this size are read into memory once; larger ones are streamed and copied. */
const SMALL_FILE = 4 * 1024 * 1024;
const THUMBNAIL_BOX = { width: 270, height: 1024 } as const;

type Sharp = typeof import('sharp');
let sharpModule: Promise<Sharp> | undefined;
function loadSharp(): Promise<Sharp> {
  // Loaded on the first image only; one libvips thread per core, and no cache kept between files.
  sharpModule ??= import('sharp').then((module) => {
    const sharp = module.default;
    sharp.cache(false);
    return sharp as unknown as Sharp;
  });
  return sharpModule;
}

export class Uploads {
  private readonly made: string[] = [];
  /** Folders known to exist: most files share all but their last few. */
  private readonly folders = new Set<string>();

  private constructor(
    private readonly options: UploadsOptions,
    private readonly listPath: string,
    private readonly list: FileHandle,
  ) {}

  static async open(options: UploadsOptions): Promise<Uploads> {
    await mkdir(options.listDir, { recursive: true });
    // The random part: two deliveries of one AIP in one process may open their lists in the same millisecond.
    const listPath = path.join(options.listDir, `${LIST_PREFIX}${ownerTag()}-${options.aipUuid}-${Date.now()}-${randomBytes(4).toString('hex')}.list`);
    const list = await open(listPath, 'wx', 0o600);
    await list.write(`${JSON.stringify({ aipUuid: options.aipUuid })}\n`);
    const uploads = new Uploads(options, listPath, list);
    // AtoM's own folders are never ours to remove, even when a failed ingest leaves them empty.
    for (let at = path.join(options.atomRootDir, options.uploadDir, 'r', options.repositorySlug); at.startsWith(options.atomRootDir + path.sep); at = path.dirname(at)) {
      if (await exists(at)) uploads.folders.add(at);
    }
    return uploads;
  }

  /** Copy an access copy in as a master, with derivatives for an image. */
  async place(source: string, accessFileName: string, signal: AbortSignal): Promise<PlacedFile> {
    throwIfAborted(signal);
    // Small files are read once, hashed, and written from memory: on a slow disk every call counts.
    const handle = await open(source, 'r');
    let bytes: number;
    let content: Buffer | undefined;
    try {
      bytes = (await handle.stat()).size;
      if (bytes <= SMALL_FILE) content = await handle.readFile();
    } finally {
      await handle.close();
    }
    const sha256 = content !== undefined ? createHash('sha256').update(content).digest('hex') : await hashFile(source);
    const name = digitalObjectName(accessFileName);
    const relative = path.posix.join('/', this.options.uploadDir, 'r', this.options.repositorySlug, sha256[0]!, sha256[1]!, sha256[2]!, sha256) + '/';
    const dir = path.join(this.options.atomRootDir, relative);
    const target = path.join(dir, name);
    const fresh = await this.makeDir(dir);
    if (fresh || !(await exists(target))) {
      await this.record([target]);
      if (content !== undefined) {
        // Another ingest may have made the same file (same content, same name) meanwhile: it is theirs.
        await writeFile(target, content, { mode: 0o644, flag: 'wx' }).catch((error: unknown) => {
          if (errorCode(error) !== 'EEXIST') throw error;
          this.made.splice(this.made.lastIndexOf(target), 1);
        });
      } else {
        await copyFile(source, target);
        await chmod(target, 0o644);
      }
    }
    const mimeType = mimeTypeOf(name);
    const placed = { name, path: relative, sha256, bytes, mimeType, mediaTypeId: mediaTypeOf(mimeType) };
    if (!mimeType.startsWith('image/')) return { ...placed, derivatives: [] };
    if (content !== undefined && !looksLikeImage(content)) return { ...placed, derivatives: [], derivativeError: 'its content is not an image format libvips reads' };
    let images: { usageId: number; image: Buffer }[];
    try {
      images = await this.derivatives(content ?? target);
    } catch (error) {
      return { ...placed, derivatives: [], derivativeError: (error as Error).message };
    }
    // Both made before either is written: an unreadable image leaves no half pair behind.
    const derivatives: PlacedDerivative[] = [];
    for (const { usageId, image } of images) {
      const derivative = derivativeName(name, usageId);
      const file = path.join(dir, derivative);
      if (!(await exists(file))) {
        await this.record([file]);
        await writeFile(file, image, { mode: 0o644 });
      }
      derivatives.push({ usageId, name: derivative, bytes: image.length, sha256: createHash('sha256').update(image).digest('hex') });
    }
    return { ...placed, derivatives };
  }

  /** The reference image and the thumbnail, as JPEG in memory. */
  private async derivatives(master: Buffer | string): Promise<{ usageId: number; image: Buffer }[]> {
    const sharp = await loadSharp();
    const width = this.options.referenceMaxWidth;
    const made: { usageId: number; image: Buffer }[] = [];
    for (const [usageId, box] of [
      [TERM.USAGE_REFERENCE, { width, height: width }],
      [TERM.USAGE_THUMBNAIL, THUMBNAIL_BOX],
    ] as const) {
      const image = await sharp(master, { failOn: 'error' })
        .rotate()
        .resize({ ...box, fit: 'inside', withoutEnlargement: true })
        .flatten({ background: '#ffffff' })
        .jpeg({ quality: 75 })
        .toBuffer();
      made.push({ usageId, image });
    }
    return made;
  }

  /** The ingest committed: what was made stays. */
  async keep(): Promise<void> {
    await this.list.close();
    await unlink(this.listPath).catch(() => undefined);
  }

  /**
   * The ingest failed: remove what was made, newest first (files, then the folders emptied), except
   * files `keep` names (rows point at them after all). When `keep` cannot tell (the database is
   * gone), nothing is removed and the list stays for the next start's sweep to decide.
   */
  async discard(keep: (files: readonly string[]) => Promise<ReadonlySet<string>>): Promise<void> {
    await this.list.close().catch(() => undefined);
    let kept: ReadonlySet<string>;
    try {
      kept = await keep(this.made.filter((entry) => !entry.endsWith(path.sep)));
    } catch {
      return;
    }
    await removeListed(this.made.filter((entry) => !kept.has(entry)));
    await unlink(this.listPath).catch(() => undefined);
  }

  private async record(entries: readonly string[]): Promise<void> {
    // Written before the files or folders exist, so a kill in between still leaves them listed.
    await this.list.write(entries.map((entry) => `${entry}\n`).join(''));
    this.made.push(...entries);
  }

  /**
   * mkdir -p, listing first (with a trailing slash) the folders it may make: one that existed is
   * removed on a failure only if empty. True when `dir` is new, so nothing in it can be another's.
   */
  private async makeDir(dir: string): Promise<boolean> {
    if (this.folders.has(dir)) return false;
    const missing: string[] = [];
    for (let at = dir; !this.folders.has(at) && at.startsWith(this.options.atomRootDir + path.sep); at = path.dirname(at)) missing.unshift(at);
    await this.record(missing.map((folder) => folder + path.sep));
    let made: string | undefined;
    try {
      made = await mkdir(dir, { recursive: true, mode: 0o755 });
    } catch (error) {
      if (errorCode(error) === 'ENOSPC') throw new DipError(`The disk is full: cannot create ${dir}`);
      throw error;
    }
    for (const folder of missing) this.folders.add(folder);
    // mkdir -p answers the first folder it made: any at all means `dir` itself is new.
    return made !== undefined;
  }
}

/**
 * Lists left by ingests whose worker died: their files go unless the AIP is in AtoM (the ingest
 * committed just before the kill). Returns the lists handled.
 */
export async function sweepUploads(listDir: string, committed: (aipUuid: string) => Promise<boolean>): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(listDir);
  } catch {
    return [];
  }
  const handled: string[] = [];
  for (const name of names) {
    if (!name.startsWith(LIST_PREFIX) || !ownerGone(name)) continue;
    const full = path.join(listDir, name);
    const lines = (await readFile(full, 'utf8')).split('\n').filter((line) => line !== '');
    const header = JSON.parse(lines.shift() ?? '{}') as { aipUuid?: string };
    if (header.aipUuid === undefined || !(await committed(header.aipUuid))) await removeListed(lines);
    await unlink(full).catch(() => undefined);
    handled.push(full);
  }
  return handled;
}

async function removeListed(entries: readonly string[]): Promise<void> {
  for (let i = entries.length - 1; i >= 0; i -= 1) {
    const entry = entries[i]!;
    if (entry.endsWith(path.sep)) await rmdir(entry).catch(() => undefined);
    else await unlink(entry).catch(() => undefined);
  }
}

/** JPEG, PNG, GIF, TIFF, WebP, HEIF/AVIF, JPEG 2000 or SVG by their first bytes: anything else is not tried. */
function looksLikeImage(content: Buffer): boolean {
  const head = content.subarray(0, 16);
  const ascii = head.toString('latin1');
  return (
    (head[0] === 0xff && head[1] === 0xd8) ||
    ascii.startsWith('\x89PNG') ||
    ascii.startsWith('GIF8') ||
    ascii.startsWith('II*\0') ||
    ascii.startsWith('MM\0*') ||
    (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WEBP') ||
    ascii.slice(4, 8) === 'ftyp' ||
    ascii.startsWith('\0\0\0\x0cjP') ||
    /^\s*<(\?xml|svg)/.test(content.subarray(0, 256).toString('utf8'))
  );
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
