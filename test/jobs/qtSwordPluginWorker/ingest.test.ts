// End-to-end DIP ingest on generated, Archivematica-shaped DIPs: modes, titles, levels, parents,
// Dublin Core, Archivematica properties, skipped files, determinism.
import { statSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDip } from './dipGenerator.js';
import {
  DIP_FORMAT,
  flatten,
  listTree,
  readManifest,
  readRows,
  recordingContext,
  runJob,
  sandboxEach,
} from './helpers.js';

const box = sandboxEach();

const payloadFor = (dipName: string, extra: Record<string, unknown> = {}) => ({
  id: 42,
  name: 'Target fonds',
  format: DIP_FORMAT,
  location: `file:///${dipName}`,
  ...extra,
});

describe('flat mode', () => {
  it('imports a PREMIS v2 DIP as items under the target, sorted by title', async () => {
    const dip = await generateDip(box.deposit, {
      name: 'flat-v2',
      files: [
        { path: 'zebra.jpg', premis: 2 },
        { path: 'Apple.jpg', premis: 2 },
        { path: 'mango.jpg', premis: 2, mime: null },
        { path: 'kiwi.png', premis: 2, mime: null, exifMime: 'image/png' },
      ],
    });
    const rec = recordingContext(box.settings);
    const result = await runJob(payloadFor(dip.dipName, { parentSlug: 'target-fonds' }), rec);

    expect(result).toMatchObject({
      aipUuid: dip.aipUuid,
      aipName: 'flat-v2',
      mode: 'flat',
      descriptions: 4,
      digitalObjects: 4,
      skipped: 0,
      outputDir: path.join(box.output, dip.aipUuid),
    });
    const rows = await readRows(result.outputDir);
    expect(rows.map((r) => r.title)).toEqual(['Apple.jpg', 'kiwi.png', 'mango.jpg', 'zebra.jpg']);
    for (const row of rows) {
      expect(row.levelOfDescription).toBe('Item');
      expect(row.parentId).toBe('');
      expect(row.qubitParentSlug).toBe('target-fonds');
      expect(row.digitalObjectPath.startsWith(path.join(result.outputDir, 'objects') + '/')).toBe(true);
      expect((await stat(row.digitalObjectPath)).isFile()).toBe(true);
    }
    const apple = dip.files[1];
    expect(rows[0]?.legacyId).toBe(`${dip.aipUuid}/${apple?.uuid}`);
    expect(rows[0]?.digitalObjectPath).toBe(path.join(result.outputDir, 'objects', apple?.accessName ?? '?'));

    const manifest = await readManifest(result.outputDir);
    expect(manifest.aip).toEqual({
      uuid: dip.aipUuid,
      name: 'flat-v2',
      digitalObjectCount: 4,
      sizeOnDisk: 4000,
      createdAt: '2024-05-06T07:08:09',
    });
    const item = manifest.tree[0];
    expect(item?.archivematica).toMatchObject({
      objectUUID: apple?.uuid,
      aipUUID: dip.aipUuid,
      aipName: 'flat-v2',
      relativePathWithinAip: 'objects/Apple.jpg',
      originalFileName: 'Apple.jpg',
      originalFileSize: 1000,
      originalFileIngestedAt: '2024-05-06T07:00:00+00:00',
      preservationCopyFileName: null,
      formatName: 'JPEG',
      pronomPuid: 'fmt/43',
      mimeType: 'image/jpeg',
      checksum: 'ab'.repeat(32),
      checksumAlgorithm: 'sha256',
      premisVersion: 2,
    });
    // FITS decoys (fileinfo/originalName, ExifTool MIMEType) are not taken for PREMIS values.
    const mango = manifest.tree.find((n) => n.title === 'mango.jpg');
    expect(mango?.archivematica?.mimeType).toBeNull();
    expect(mango?.digitalObject?.size).toBe(Buffer.byteLength('access copy of mango.jpg\n'));
    // Without FITS, ExifTool's File:MIMEType (and only that one) is used.
    expect(manifest.tree.find((n) => n.title === 'kiwi.png')?.archivematica?.mimeType).toBe('image/png');
    expect(rec.progress.at(-1)).toEqual([4, 4]);
    expect(rec.warnings).toEqual([]);
  });

  it('reads a METS mixing PREMIS v2 and v3 objects, events and relationships', async () => {
    const dip = await generateDip(box.deposit, {
      name: 'mixed',
      files: [
        { path: 'v2.jpg', premis: 2, preservation: true, puid: 'fmt/44' },
        { path: 'v3.jpg', premis: 3, preservation: true, puid: 'fmt/645' },
      ],
    });
    const result = await runJob(payloadFor(dip.dipName), recordingContext(box.settings));
    const manifest = await readManifest(result.outputDir);
    const byTitle = Object.fromEntries(manifest.tree.map((n) => [n.title, n.archivematica]));
    expect(byTitle['v2.jpg']).toMatchObject({
      premisVersion: 2,
      pronomPuid: 'fmt/44',
      originalFileIngestedAt: '2024-05-06T07:00:00+00:00',
      preservationCopyFileName: `v2-${dip.files[0]?.preservationUuid}.tif`,
    });
    expect(byTitle['v3.jpg']).toMatchObject({
      premisVersion: 3,
      pronomPuid: 'fmt/645',
      preservationCopyFileName: `v3-${dip.files[1]?.preservationUuid}.tif`,
    });
  });

  it('hard-links access copies into the package', async () => {
    const dip = await generateDip(box.deposit, { files: [{ path: 'a.jpg' }] });
    const result = await runJob(payloadFor(dip.dipName), recordingContext(box.settings));
    const name = dip.files[0]?.accessName ?? '?';
    const [src, dst] = await Promise.all([
      stat(path.join(dip.dipDir, 'objects', name)),
      stat(path.join(result.outputDir, 'objects', name)),
    ]);
    expect(dst.ino).toBe(src.ino);
    expect(dst.nlink).toBe(2);
  });

  const otherDevice = '/dev/shm';
  const canCrossDevices = (() => {
    try {
      return statSync(otherDevice).dev !== statSync(os.tmpdir()).dev;
    } catch {
      return false;
    }
  })();
  it.skipIf(!canCrossDevices)('copies access copies that live on another file system', async () => {
    const deposit = await mkdtemp(path.join(otherDevice, 'dip-test-'));
    try {
      const dip = await generateDip(deposit, { files: [{ path: 'a.jpg', accessContent: 'cross-device bytes' }] });
      const result = await runJob(payloadFor(dip.dipName), recordingContext({ ...box.settings, sword_deposit_dir: deposit }));
      const copy = path.join(result.outputDir, 'objects', dip.files[0]?.accessName ?? '?');
      expect((await stat(copy)).nlink).toBe(1);
      expect(await readFile(copy, 'utf8')).toBe('cross-device bytes');
    } finally {
      await rm(deposit, { recursive: true, force: true });
    }
  });

  it('reads PREMIS v3 preservation copies through GROUPID and the derivation relationship', async () => {
    const dip = await generateDip(box.deposit, {
      name: 'flat-v3',
      files: [{ path: 'photo.jpg', preservation: true, size: 2048 }, { path: 'other.png' }],
    });
    const result = await runJob(payloadFor(dip.dipName), recordingContext(box.settings));
    const manifest = await readManifest(result.outputDir);
    const photo = manifest.tree.find((n) => n.title === 'photo.jpg');
    const gen = dip.files[0];
    expect(photo?.archivematica).toMatchObject({
      premisVersion: 3,
      preservationCopyFileName: `photo-${gen?.preservationUuid}.tif`,
      preservationCopySize: 20480,
      preservationCopyNormalizedAt: '2024-05-06T07:05:00+00:00',
    });
    const other = manifest.tree.find((n) => n.title === 'other.png');
    expect(other?.archivematica?.preservationCopyFileName).toBeNull();
    // Preservation copies are not imported as descriptions.
    expect(result.descriptions).toBe(2);
    // sizeOnDisk sums every PREMIS object, preservation copies included.
    expect(manifest.aip.sizeOnDisk).toBe(2048 + 20480 + 1000);
  });

  it('makes an intermediate File from the objects div DC and maps DC onto items (newest DC wins)', async () => {
    const dip = await generateDip(box.deposit, {
      name: 'dc',
      files: [
        {
          path: 'letter.pdf',
          dmd: [
            { dc: { title: 'Old title' }, created: '2024-01-01T00:00:00', status: 'original-superseded' },
            { custom: 'not dublin core', created: '2025-01-01T00:00:00' },
            {
              created: '2024-06-01T00:00:00',
              status: 'update',
              dc: {
                title: 'Letter to the editor',
                creator: ['Ada Lovelace', 'Charles Babbage'],
                date: '1843-01-01 - 1843-12-31',
                description: 'A long letter,\nwith "quotes" and two lines.',
                subject: ['Mathematics', 'Engines'],
                coverage: 'London',
                publisher: 'Taylor',
                contributor: 'Menabrea',
                format: '3 pages',
                identifier: 'L-1843',
                source: 'Private collection',
                language: 'en',
                rights: 'Public domain',
                provenance: 'Donated 1900',
                type: 'Text',
              },
            },
          ],
        },
        { path: 'note.txt' },
      ],
      objectsDmd: [{ dc: { title: 'Correspondence', identifier: 'C-1', provenance: 'Family' } }, { custom: 'x' }],
    });
    const result = await runJob(payloadFor(dip.dipName, { parentSlug: 'fonds-1' }), recordingContext(box.settings));
    expect(result.descriptions).toBe(3);
    const rows = await readRows(result.outputDir);
    const [file, ...items] = rows;
    expect(file).toMatchObject({
      legacyId: `${dip.aipUuid}/objects`,
      parentId: '',
      qubitParentSlug: 'fonds-1',
      title: 'Correspondence',
      levelOfDescription: 'File',
      identifier: 'C-1',
      acquisition: 'Family',
      digitalObjectPath: '',
    });
    // Sorted by file name (letter.pdf < note.txt), then the DC title replaces it.
    expect(items.map((r) => r.title)).toEqual(['Letter to the editor', 'note.txt']);
    for (const item of items) {
      expect(item.parentId).toBe(file?.legacyId);
      expect(item.qubitParentSlug).toBe('');
    }
    expect(items[0]).toMatchObject({
      identifier: 'L-1843',
      scopeAndContent: 'A long letter,\nwith "quotes" and two lines.',
      subjectAccessPoints: 'Mathematics|Engines',
      placeAccessPoints: 'London',
      nameAccessPoints: 'Taylor|Menabrea',
      extentAndMedium: '3 pages',
      locationOfOriginals: 'Private collection',
      language: 'en',
      accessConditions: 'Public domain',
      acquisition: 'Donated 1900',
      eventActors: 'Ada Lovelace|Charles Babbage',
      eventTypes: 'Creation|Creation',
      eventDates: '1843-01-01 - 1843-12-31|1843-01-01 - 1843-12-31',
      eventStartDates: '1843-01-01|1843-01-01',
      eventEndDates: '1843-12-31|1843-12-31',
    });
    const raw = await readFile(path.join(result.outputDir, 'descriptions.csv'), 'utf8');
    expect(raw).toContain('"A long letter,\nwith ""quotes"" and two lines."');
    expect(raw.split('\r\n')[0]?.startsWith('legacyId,parentId,qubitParentSlug,')).toBe(true);
  });

  it('skips originals without an access copy, with a warning, and counts them', async () => {
    const dip = await generateDip(box.deposit, {
      name: 'missing',
      files: [{ path: 'a.jpg' }, { path: 'b.jpg', access: false }, { path: 'c.jpg', access: false }],
    });
    const rec = recordingContext(box.settings);
    const result = await runJob(payloadFor(dip.dipName), rec);
    expect(result).toMatchObject({ descriptions: 1, digitalObjects: 1, skipped: 2 });
    expect(rec.warnings).toHaveLength(2);
    expect(rec.warnings[0]).toContain(dip.files[1]?.uuid);
    expect(rec.warnings[0]).toContain('no access copy');
    expect(result.warnings).toEqual(rec.warnings);
    const manifest = await readManifest(result.outputDir);
    expect(manifest.skipped.map((s) => s.objectUUID)).toEqual([dip.files[1]?.uuid, dip.files[2]?.uuid]);
    expect(rec.progress.at(-1)).toEqual([3, 3]);
  });

  it('titles from originalName, else the access name; optional extension stripping; odd and unicode names', async () => {
    const odd = 'Réunion, "été" 每月 #1.tar.gz';
    const dip = await generateDip(box.deposit, {
      name: 'names',
      files: [
        { path: `dir one/${odd}` },
        { path: 'no-original-name.doc', noOriginalName: true, access: undefined },
        { path: '-dash leading.txt' },
      ],
    });
    const box2 = { ...box.settings, strip_extensions: true };
    const result = await runJob(payloadFor(dip.dipName), recordingContext(box2));
    const rows = await readRows(result.outputDir);
    expect(rows.map((r) => r.title).sort()).toEqual(['-dash leading', 'Réunion, "été" 每月 #1.tar', 'no-original-name'].sort());
    const manifest = await readManifest(result.outputDir);
    const oddNode = manifest.tree.find((n) => n.title.startsWith('Réunion'));
    expect(oddNode?.archivematica?.originalFileName).toBe(odd);
    expect(oddNode?.archivematica?.relativePathWithinAip).toBe(`objects/dir one/${odd}`);
    const files = await readdir(path.join(result.outputDir, 'objects'));
    expect(files).toContain(dip.files[0]?.accessName);
  });

  it('keeps files with the same name in different folders apart', async () => {
    const dip = await generateDip(box.deposit, {
      name: 'dups',
      files: [{ path: '0A/same.jpg' }, { path: '0B/same.jpg' }],
    });
    const result = await runJob(payloadFor(dip.dipName), recordingContext(box.settings));
    const rows = await readRows(result.outputDir);
    expect(rows.map((r) => r.title)).toEqual(['same.jpg', 'same.jpg']);
    // Stable sort keeps METS order on equal titles.
    expect(rows.map((r) => r.legacyId)).toEqual(dip.files.map((f) => `${dip.aipUuid}/${f.uuid}`));
    expect(new Set(rows.map((r) => r.digitalObjectPath)).size).toBe(2);
  });
});

describe('hierarchical mode', () => {
  it('builds descriptions from the Hierarchical structMap with its levels', async () => {
    const dip = await generateDip(box.deposit, {
      name: 'arranged',
      files: [
        { path: 'series-a/sub/photo.jpg', level: 'File', dmd: [{ dc: { title: 'A photo', subject: 'Cats' } }] },
        { path: 'series-a/sub/scan.tif', preservation: true },
        { path: 'series-a/letter.pdf', level: 'Item', access: false },
        { path: 'loose.txt', notInHierarchy: true },
      ],
      hierarchical: { objectsLevel: 'Fonds', dirLevels: { 'series-a': 'Series', 'series-a/sub': 'Sub-series' } },
    });
    const rec = recordingContext(box.settings);
    const result = await runJob(payloadFor(dip.dipName, { parentSlug: 'my-fonds' }), rec);
    expect(result.mode).toBe('hierarchical');
    const rows = await readRows(result.outputDir);
    expect(rows.map((r) => [r.title, r.levelOfDescription, r.parentId === '' ? null : r.parentId])).toEqual([
      ['series-a', 'Series', null],
      ['sub', 'Sub-series', `${dip.aipUuid}/series-a`],
      ['A photo', 'File', `${dip.aipUuid}/series-a/sub`],
      ['scan.tif', 'Item', `${dip.aipUuid}/series-a/sub`],
    ]);
    expect(rows[0]?.qubitParentSlug).toBe('my-fonds');
    expect(rows[2]?.subjectAccessPoints).toBe('Cats');
    expect(rows[3]?.digitalObjectPath).toContain(dip.files[1]?.accessName);
    expect(result).toMatchObject({ descriptions: 4, digitalObjects: 2, skipped: 2 });
    expect(rec.warnings.join('\n')).toContain('no access copy');
    expect(rec.warnings.join('\n')).toContain('not placed in the Hierarchical structMap');
    const manifest = await readManifest(result.outputDir);
    expect(manifest.target.levelOfDescription).toBe('Fonds');
    expect(manifest.source.mode).toBe('hierarchical');
    const scan = flatten(manifest.tree).find((n) => n.title === 'scan.tif');
    expect(scan?.archivematica?.preservationCopyFileName).toBe(`scan-${dip.files[1]?.preservationUuid}.tif`);
  });
});

describe('output', () => {
  it('is byte-identical on a rerun and replaces the previous package', async () => {
    const dip = await generateDip(box.deposit, {
      name: 'rerun',
      files: [{ path: 'a.jpg', dmd: [{ dc: { title: 'A' } }] }, { path: 'b/c.jpg', preservation: true }],
    });
    const first = await runJob(payloadFor(dip.dipName), recordingContext(box.settings));
    const snapshot = async () => {
      const files = (await listTree(first.outputDir)).filter((f) => !f.endsWith('objects'));
      return Promise.all(files.map(async (f) => [f, await readFile(path.join(first.outputDir, f))] as const));
    };
    const before = await snapshot();
    const second = await runJob(payloadFor(dip.dipName), recordingContext(box.settings));
    expect(second.outputDir).toBe(first.outputDir);
    const after = await snapshot();
    expect(after.map(([f]) => f)).toEqual(before.map(([f]) => f));
    for (const [i, [, bytes]] of after.entries()) expect(bytes.equals(before[i]?.[1] ?? Buffer.alloc(0))).toBe(true);
    // Only the package is left: no temporary or old folders.
    expect(await readdir(box.output)).toEqual([dip.aipUuid]);
  });

  it('fails with a clear reason for another package format', async () => {
    const dip = await generateDip(box.deposit, { files: [{ path: 'a.jpg' }] });
    await expect(
      runJob({ ...payloadFor(dip.dipName), format: 'http://purl.org/net/sword-types/METSDSpaceSIP' }, recordingContext(box.settings)),
    ).rejects.toThrow(/Unsupported package format http:\/\/purl\.org\/net\/sword-types\/METSDSpaceSIP/);
  });

  it('fails when there is no METS file, and leaves nothing behind', async () => {
    const dip = await generateDip(box.deposit, { files: [{ path: 'a.jpg' }] });
    const { rm } = await import('node:fs/promises');
    await rm(dip.metsPath);
    await expect(runJob(payloadFor(dip.dipName), recordingContext(box.settings))).rejects.toThrow(
      `No METS file (METS.*.xml) at the root of the DIP ${dip.dipName}`,
    );
    await expect(readdir(box.output)).rejects.toThrow();
  });

  it('takes the first METS file by name', async () => {
    const dip = await generateDip(box.deposit, { name: 'two', files: [{ path: 'a.jpg' }] });
    const { writeFile } = await import('node:fs/promises');
    // A later name holding garbage is not read; an earlier one would be.
    await writeFile(path.join(dip.dipDir, 'METS.zzz.xml'), '<not-xml');
    expect(path.basename(dip.metsPath) < 'METS.zzz.xml').toBe(true);
    const result = await runJob(payloadFor(dip.dipName), recordingContext(box.settings));
    expect(result.digitalObjects).toBe(1);
    await writeFile(path.join(dip.dipDir, 'METS.0.xml'), '<not-xml');
    await expect(runJob(payloadFor(dip.dipName), recordingContext(box.settings))).rejects.toThrow(/Invalid XML in METS\.0\.xml/);
  });
});
