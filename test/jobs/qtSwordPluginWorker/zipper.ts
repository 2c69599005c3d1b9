// Builds zip files for tests with yazl, including hostile ones yazl itself would refuse to write.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import yazl from 'yazl';

export interface ZipEntry {
  name: string;
  data?: Buffer | string;
  /** Unix mode, e.g. 0o120777 for a symbolic link. */
  mode?: number;
  dir?: boolean;
}

export async function zipBuffer(entries: ZipEntry[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) {
    if (e.dir) zip.addEmptyDirectory(e.name);
    else zip.addBuffer(Buffer.from(e.data ?? ''), e.name, e.mode === undefined ? {} : { mode: e.mode });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Replace an entry name in the raw bytes (same length: offsets stay valid), e.g. to insert `..`. */
export function renameEntry(zip: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('names must have the same length');
  const out = Buffer.from(zip);
  const needle = Buffer.from(from);
  for (let i = out.indexOf(needle); i !== -1; i = out.indexOf(needle, i + 1)) out.write(to, i, 'latin1');
  return out;
}

/** Zip a folder's contents; `prefix` is put before every entry name (e.g. `dip-name/`). */
export async function zipFolder(dir: string, prefix = ''): Promise<Buffer> {
  const entries: ZipEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(path.join(dir, rel))).sort()) {
      const relPath = rel ? `${rel}/${name}` : name;
      const full = path.join(dir, relPath);
      if ((await stat(full)).isDirectory()) {
        entries.push({ name: `${prefix}${relPath}/`, dir: true });
        await walk(relPath);
      } else {
        entries.push({ name: `${prefix}${relPath}`, data: await readFile(full) });
      }
    }
  };
  await walk('');
  return zipBuffer(entries);
}

export async function writeZip(file: string, data: Buffer): Promise<string> {
  await writeFile(file, data);
  return file;
}
