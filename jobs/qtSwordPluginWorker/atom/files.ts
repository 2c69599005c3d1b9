// Digital object files, put where AtoM keeps them (QubitDigitalObject::getAssetPath):
// <atom root>/<upload_dir>/r/<repository slug or null>/<c0>/<c1>/<c2>/<sha256>/<name>, with a
// reference image and a thumbnail beside each image. Every file and folder made is written to a
// list in temp_dir before it is made, so a failed ingest removes exactly what it added, and the
// next ingest removes what a killed one left (once it knows that ingest never committed).
import { createHash } from 'node:crypto';
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

  private constructor(
    private readonly options: UploadsOptions,
    private readonly listPath: string,
    private readonly list: FileHandle,
  ) {}

  static async open(options: UploadsOptions): Promise<Uploads> {
    await mkdir(options.listDir, { recursive: true });
    const listPath = path.join(options.listDir, `${LIST_PREFIX}${ownerTag()}-${options.aipUuid}-${Date.now()}.list`);
    const list = await open(listPath, 'wx', 0o600);
    await list.write(`${JSON.stringify({ aipUuid: options.aipUuid })}\n`);
    return new Uploads(options, listPath, list);
  }

  /** Copy an access copy in as a master, with derivatives for an image. */
  async place(source: string, accessFileName: string, signal: AbortSignal): Promise<PlacedFile> {
    throwIfAborted(signal);
    const sha256 = await hashFile(source);
    const name = digitalObjectName(accessFileName);
    const relative = path.posix.join('/', this.options.uploadDir, 'r', this.options.repositorySlug, sha256[0]!, sha256[1]!, sha256[2]!, sha256) + '/';
    const dir = path.join(this.options.atomRootDir, relative);
    await this.makeDir(dir);
    const target = path.join(dir, name);
    const bytes = (await stat(source)).size;
    if (!(await exists(target))) {
      await this.record(target);
      await copyFile(source, target);
      await chmod(target, 0o644);
    }
    const mimeType = mimeTypeOf(name);
    const placed = { name, path: relative, sha256, bytes, mimeType, mediaTypeId: mediaTypeOf(mimeType) };
    if (!mimeType.startsWith('image/')) return { ...placed, derivatives: [] };
    try {
      return { ...placed, derivatives: await this.derivatives(target, dir, name) };
    } catch (error) {
      return { ...placed, derivatives: [], derivativeError: (error as Error).message };
    }
  }

  private async derivatives(master: string, dir: string, name: string): Promise<PlacedDerivative[]> {
    const sharp = await loadSharp();
    const width = this.options.referenceMaxWidth;
    const made: PlacedDerivative[] = [];
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
      const derivative = derivativeName(name, usageId);
      const target = path.join(dir, derivative);
      if (!(await exists(target))) {
        await this.record(target);
        await writeFile(target, image, { mode: 0o644 });
      }
      made.push({ usageId, name: derivative, bytes: image.length, sha256: createHash('sha256').update(image).digest('hex') });
    }
    return made;
  }

  /** The ingest committed: what was made stays. */
  async keep(): Promise<void> {
    await this.list.close();
    await unlink(this.listPath).catch(() => undefined);
  }

  /** The ingest failed: remove what was made, newest first (files, then the folders emptied). */
  async discard(): Promise<void> {
    await this.list.close().catch(() => undefined);
    await removeListed(this.made);
    await unlink(this.listPath).catch(() => undefined);
  }

  private async record(entry: string): Promise<void> {
    // Written before the file or folder exists, so a kill in between still leaves it listed.
    await this.list.write(`${entry}\n`);
    this.made.push(entry);
  }

  /** mkdir -p, listing each folder it makes (with a trailing slash). */
  private async makeDir(dir: string): Promise<void> {
    const missing: string[] = [];
    for (let at = dir; !(await exists(at)); at = path.dirname(at)) missing.unshift(at);
    for (const folder of missing) {
      await this.record(folder + path.sep);
      try {
        await mkdir(folder, { mode: 0o755 });
      } catch (error) {
        if (errorCode(error) === 'ENOSPC') throw new DipError(`The disk is full: cannot create ${folder}`);
        if (errorCode(error) !== 'EEXIST') throw error;
      }
    }
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
