// Where the DIP is: a folder deposited by reference (`location: file:///<name>`) or an uploaded
// zip (`filename`), both looked up by base name inside sword_deposit_dir, as AtoM does. The real
// path (symlinks resolved) must stay inside the real deposit folder. Zips are checked (MD5) and
// extracted into a private temporary folder that cleanup() removes.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { METS_NAME } from './dip.js';
import type { DipPayload } from './payload.js';
import type { DipSettings } from './settings.js';
import { DipError, removeTree, throwIfAborted } from './util.js';
import { extractZip } from './zip.js';
import { extractionPrefix } from './leftovers.js';

export interface LocatedDip {
  /** Real path of the DIP folder (METS at its root). */
  dipDir: string;
  /** The DIP folder's name as deposited: `<aip name>-<aip uuid>`. */
  dipName: string;
  /** True when dipDir is a temporary extraction (removed by cleanup). */
  extracted: boolean;
  /** How the package arrived, for the manifest (no temporary paths). */
  source: { kind: 'location' | 'upload'; value: string };
  /** Real path of what was deposited: the DIP folder, or the uploaded zip. */
  deposit: string;
  cleanup(): Promise<void>;
}

export async function locateDip(
  payload: DipPayload,
  settings: DipSettings,
  signal: AbortSignal,
): Promise<LocatedDip> {
  const depositDir = settings.swordDepositDir;
  let realDeposit: string;
  try {
    realDeposit = await realpath(depositDir);
  } catch {
    throw new DipError(`Deposit folder not found: ${depositDir}`);
  }

  let name: string;
  let kind: 'location' | 'upload';
  let value: string;
  if (payload.location) {
    kind = 'location';
    value = payload.location;
    const m = /^([^:]*):\/\//.exec(payload.location);
    if (!m) throw new DipError(`Location not recognised: ${payload.location} (expected file:///<DIP folder>)`);
    if (m[1] !== 'file') throw new DipError(`The ${m[1]} protocol is not supported; only file:// locations are accepted`);
    name = path.posix.basename(payload.location.slice(m[0].length));
  } else if (payload.filename && path.posix.isAbsolute(payload.filename) && (await realpath(payload.filename).catch(() => undefined)) !== undefined) {
    // AtoM saves an upload with tempnam('/tmp', 'php_qubit_') and passes that path; a path that
    // does not exist here (a client's own) is looked up by its base name in the deposit folder.
    return locateUpload(payload, payload.filename, realDeposit, settings, signal);
  } else if (payload.filename) {
    kind = 'upload';
    value = path.posix.basename(payload.filename);
    name = value;
  } else {
    throw new DipError('The payload has neither a location nor a filename');
  }
  if (name === '' || name === '.' || name === '..' || name.includes('\0')) {
    throw new DipError(`${kind === 'location' ? 'Location' : 'Filename'} ${JSON.stringify(value)} does not name a package inside the deposit folder`);
  }

  const candidates = [name];
  if (kind === 'location' && /%[0-9A-Fa-f]{2}/.test(name)) {
    try {
      const decoded = decodeURIComponent(name);
      if (!decoded.includes('/') && decoded !== '..' && decoded !== '.') candidates.push(decoded);
    } catch {
      // Not valid percent-encoding: only the raw name is tried.
    }
  }
  let real: string | undefined;
  let tried = '';
  for (const candidate of candidates) {
    tried = path.join(depositDir, candidate);
    try {
      real = await realpath(tried);
      name = candidate;
      break;
    } catch {
      // Try the next spelling.
    }
  }
  if (real === undefined) throw new DipError(`DIP not found: ${path.join(depositDir, candidates[0] ?? name)}`);
  if (!real.startsWith(realDeposit + path.sep)) {
    throw new DipError(`DIP ${tried} resolves to ${real}, outside the deposit folder ${realDeposit}`);
  }

  const info = await stat(real);
  if (info.isDirectory()) {
    return { dipDir: real, dipName: name, extracted: false, source: { kind, value }, deposit: real, cleanup: async () => {} };
  }
  if (!info.isFile()) throw new DipError(`DIP ${tried} is neither a folder nor a zip file`);

  if (payload.checksum_md5) await verifyMd5(real, payload.checksum_md5, signal);
  return extract(real, name, settings, signal, { kind, value });
}

/** Uploads may be only where AtoM puts them (/tmp) or in the deposit folder. */
const UPLOAD_DIRS = ['/tmp'];

async function locateUpload(payload: DipPayload, file: string, realDeposit: string, settings: DipSettings, signal: AbortSignal): Promise<LocatedDip> {
  const real = await realpath(file).catch(() => undefined);
  if (real === undefined) throw new DipError(`Uploaded package not found: ${file}`);
  const allowed = [realDeposit, ...(await Promise.all(UPLOAD_DIRS.map((dir) => realpath(dir).catch(() => dir))))];
  if (!allowed.some((dir) => real.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep))) {
    throw new DipError(`Uploaded package ${file} resolves to ${real}, outside ${allowed.join(' and ')}`);
  }
  const info = await stat(real);
  if (!info.isFile()) throw new DipError(`Uploaded package ${file} is not a file`);
  if (payload.checksum_md5) await verifyMd5(real, payload.checksum_md5, signal);
  // AtoM's temp name says nothing: the DIP's name comes from suggested_name, else the zip's single top folder.
  const suggested = payload.suggested_name ? path.posix.basename(payload.suggested_name.replace(/^"|"$/g, '')) : '';
  return extract(real, suggested !== '' ? suggested : path.basename(real), settings, signal, { kind: 'upload', value: file });
}

async function verifyMd5(file: string, expected: string, signal: AbortSignal): Promise<void> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    throwIfAborted(signal);
    hash.update(chunk);
  }
  const actual = hash.digest('hex');
  if (actual !== expected.trim().toLowerCase()) {
    throw new DipError(`Checksum mismatch for ${path.basename(file)}: expected MD5 ${expected.trim()}, got ${actual}`);
  }
}

async function extract(
  zipPath: string,
  zipName: string,
  settings: DipSettings,
  signal: AbortSignal,
  source: LocatedDip['source'],
): Promise<LocatedDip> {
  // mkdtemp creates the folder with mode 0700: private to this user. temp_dir is made if missing,
  // as dip_output_dir is.
  await mkdir(settings.tempDir, { recursive: true });
  const temp = await mkdtemp(path.join(settings.tempDir, extractionPrefix()));
  const cleanup = async (): Promise<void> => {
    await removeTree(temp);
  };
  try {
    await extractZip(zipPath, temp, { maxBytes: settings.zipMaxBytes, maxEntries: settings.zipMaxEntries, signal });
    // The METS is either at the zip's root or at the root of its single top folder.
    const rootEntries = await readdir(temp, { withFileTypes: true });
    let dipDir = temp;
    let dipName = zipName.replace(/\.zip$/i, '');
    const hasMets = rootEntries.some((e) => e.isFile() && METS_NAME.test(e.name));
    const only = rootEntries[0];
    if (!hasMets && rootEntries.length === 1 && only !== undefined && only.isDirectory()) {
      dipDir = path.join(temp, only.name);
      dipName = only.name;
    }
    return { dipDir: await realpath(dipDir), dipName, extracted: true, source, deposit: zipPath, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
