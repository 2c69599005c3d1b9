// A DIP laid out around one of the real Archivematica METS files (../shared/fixtures/mets, see
// SOURCES.txt there; never copied into this repository): the METS copied in as METS.<uuid>.xml and
// an access copy objects/<uuid>-<name> generated for every original, a real image when asked.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { repoRoot } from '../../harness/worker.js';

export const metsFixtures = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'mets');

const IMAGE_FORMATS: Record<string, 'jpeg' | 'png' | 'tiff'> = { '.jpg': 'jpeg', '.jpeg': 'jpeg', '.png': 'png', '.tif': 'tiff', '.tiff': 'tiff' };

/** A real 640 × 400 image (a gradient, different per seed), larger than a reference image. */
export async function testImage(format: 'jpeg' | 'png' | 'tiff', seed: number): Promise<Buffer> {
  const width = 640;
  const height = 400;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) for (let x = 0; x < width; x += 1) pixels.set([(x + seed * 40) % 256, y % 256, (x * y + seed) % 256], (y * width + x) * 3);
  return sharp(pixels, { raw: { width, height, channels: 3 } }).toFormat(format).toBuffer();
}

export interface FixtureDip {
  dipName: string;
  aipUuid: string;
  originals: { uuid: string; href: string; accessName: string }[];
}

/**
 * Lay a DIP out around a fixture. The folder is named after the physical structMap's root div
 * (`<sip name>-<sip uuid>`, as Archivematica names the DIP); originals are found with plain
 * text matching, independently of the parser under test.
 */
export async function fixtureDip(
  deposit: string,
  file: string,
  options: { omitAccessFor?: number[]; images?: boolean } = {},
): Promise<FixtureDip> {
  const xml = await readFile(path.join(metsFixtures, file), 'utf8');
  const physical = xml.slice(xml.search(/<mets:structMap[^>]*TYPE="physical"/));
  const dipName = /<mets:div[^>]*?LABEL="([^"]+)"/.exec(physical)?.[1];
  if (!dipName) throw new Error(`no root div in ${file}`);
  const aipUuid = dipName.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g)?.at(-1);
  if (!aipUuid) throw new Error(`no uuid in ${dipName}`);
  const group = /<mets:fileGrp USE="original">([\s\S]*?)<\/mets:fileGrp>/.exec(xml)?.[1] ?? '';
  const originals = [...group.matchAll(/<mets:file\b[^>]*\bID="file-([0-9a-f-]{36})"[\s\S]*?xlink:href="([^"]+)"/g)].map(
    (m) => {
      const uuid = m[1] ?? '';
      const href = m[2] ?? '';
      return { uuid, href, accessName: `${uuid}-${path.posix.basename(href)}` };
    },
  );
  const dipDir = path.join(deposit, dipName);
  await mkdir(path.join(dipDir, 'objects'), { recursive: true });
  await copyFile(path.join(metsFixtures, file), path.join(dipDir, `METS.${aipUuid}.xml`));
  for (const [i, o] of originals.entries()) {
    if (options.omitAccessFor?.includes(i)) continue;
    const target = path.join(dipDir, 'objects', o.accessName);
    const format = IMAGE_FORMATS[path.extname(o.href).toLowerCase()];
    if (options.images && format) await writeFile(target, await testImage(format, i));
    else await writeFile(target, `access copy of ${o.href}\n`);
  }
  return { dipName, aipUuid, originals };
}

