// Hostile and broken input: traversal, symlinks, zip bombs, XXE, bad XML, checksums, aborts.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, symlink, truncate, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDip } from './dipGenerator.js';
import { DIP_FORMAT, listTree, readManifest, readRows, recordingContext, runJob, sandboxEach } from './helpers.js';
import { renameEntry, writeZip, zipBuffer, zipFolder } from './zipper.js';

const box = sandboxEach();

const byLocation = (location: string) => ({ id: 1, name: 'T', format: DIP_FORMAT, location });
const byUpload = (filename: string, extra: Record<string, unknown> = {}) => ({
  id: '1',
  name: 'T',
  format: DIP_FORMAT,
  filename,
  ...extra,
});
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

/** Nothing but (possibly) finished packages in the output folder, and an empty temp folder. */
async function expectNoLeftovers(): Promise<void> {
  const outputs = existsSync(box.output) ? await readdir(box.output) : [];
  expect(outputs.filter((n) => n.startsWith('.'))).toEqual([]);
  expect(await readdir(box.temp)).toEqual([]);
}

describe('location', () => {
  it('refuses other protocols and names that are not inside the deposit folder', async () => {
    const rec = recordingContext(box.settings);
    await expect(runJob(byLocation('http://example.org/dip'), rec)).rejects.toThrow(
      'The http protocol is not supported; only file:// locations are accepted',
    );
    await expect(runJob(byLocation('/abs/path'), rec)).rejects.toThrow(/Location not recognised/);
    await expect(runJob(byLocation('file:///..'), rec)).rejects.toThrow(/does not name a package inside the deposit folder/);
    await expect(runJob(byLocation('file:///x/../..'), rec)).rejects.toThrow(/does not name a package inside the deposit folder/);
  });

  it('only uses the base name, so traversal lands inside the deposit folder (and is not found)', async () => {
    await mkdir(path.join(box.root, 'secret-dip'));
    const rec = recordingContext(box.settings);
    await expect(runJob(byLocation('file:///../secret-dip'), rec)).rejects.toThrow(
      `DIP not found: ${path.join(box.deposit, 'secret-dip')}`,
    );
    await expect(runJob(byLocation('file:///nope'), rec)).rejects.toThrow(`DIP not found: ${path.join(box.deposit, 'nope')}`);
  });

  it('refuses a DIP that is a symlink leading outside the deposit folder', async () => {
    const outside = path.join(box.root, 'outside');
    await mkdir(outside);
    const dip = await generateDip(outside, { files: [{ path: 'a.jpg' }] });
    await symlink(dip.dipDir, path.join(box.deposit, dip.dipName));
    await expect(runJob(byLocation(`file:///${dip.dipName}`), recordingContext(box.settings))).rejects.toThrow(
      /outside the deposit folder/,
    );
    expect(existsSync(box.output)).toBe(false);
  });

  it('accepts a symlink that stays inside the deposit folder', async () => {
    const dip = await generateDip(path.join(box.deposit, 'real'), { name: 'linked', files: [{ path: 'a.jpg' }] });
    await symlink(dip.dipDir, path.join(box.deposit, dip.dipName));
    const result = await runJob(byLocation(`file:///${dip.dipName}`), recordingContext(box.settings));
    expect(result.digitalObjects).toBe(1);
  });

  it('skips an access copy that is a symlink out of the DIP, and never reads it', async () => {
    const secret = path.join(box.root, 'secret.txt');
    await writeFile(secret, 'TOP-SECRET');
    const dip = await generateDip(box.deposit, { files: [{ path: 'a.jpg' }, { path: 'b.jpg', access: false }] });
    const b = dip.files[1];
    await symlink(secret, path.join(dip.dipDir, 'objects', `${b?.uuid}-b.jpg`));
    const rec = recordingContext(box.settings);
    const result = await runJob(byLocation(`file:///${dip.dipName}`), rec);
    expect(result).toMatchObject({ digitalObjects: 1, skipped: 1 });
    expect(rec.warnings[0]).toContain('leads outside the DIP');
    for (const f of await listTree(result.outputDir)) {
      const full = path.join(result.outputDir, f);
      if ((await stat(full)).isFile()) expect(await readFile(full, 'utf8')).not.toContain('TOP-SECRET');
    }
  });

  it('refuses a METS file that is a symlink out of the DIP', async () => {
    const dip = await generateDip(box.deposit, { files: [{ path: 'a.jpg' }] });
    const elsewhere = path.join(box.root, 'elsewhere.xml');
    await writeFile(elsewhere, await readFile(dip.metsPath));
    const { rm } = await import('node:fs/promises');
    await rm(dip.metsPath);
    await symlink(elsewhere, dip.metsPath);
    await expect(runJob(byLocation(`file:///${dip.dipName}`), recordingContext(box.settings))).rejects.toThrow(
      /is a link that leads outside the DIP/,
    );
  });
});

describe('zip uploads', () => {
  it('extracts a zipped DIP (top folder), checks its MD5, and removes the extraction', async () => {
    const staging = path.join(box.root, 'staging');
    const dip = await generateDip(staging, { name: 'zipped', files: [{ path: 'a.jpg' }, { path: 'd/b.jpg' }] });
    const data = await zipFolder(dip.dipDir, `${dip.dipName}/`);
    await writeZip(path.join(box.deposit, 'upload.zip'), data);
    const rec = recordingContext(box.settings);
    const result = await runJob(byUpload('/some/client/path/upload.zip', { checksum_md5: md5(data).toUpperCase() }), rec);
    expect(result).toMatchObject({ aipUuid: dip.aipUuid, aipName: 'zipped', digitalObjects: 2 });
    // The hard links / copies outlive the removed extraction.
    for (const row of await readRows(result.outputDir)) expect(await readFile(row.digitalObjectPath, 'utf8')).toMatch(/^access copy of/);
    expect((await readManifest(result.outputDir)).aip.uuid).toBe(dip.aipUuid);
    await expectNoLeftovers();
  });

  it('takes a METS at the zip root, naming the AIP after the zip', async () => {
    const staging = path.join(box.root, 'staging');
    const dip = await generateDip(staging, { name: 'rooted', files: [{ path: 'a.jpg' }] });
    await writeZip(path.join(box.deposit, `${dip.dipName}.zip`), await zipFolder(dip.dipDir));
    const result = await runJob(byUpload(`${dip.dipName}.zip`), recordingContext(box.settings));
    expect(result).toMatchObject({ aipUuid: dip.aipUuid, aipName: 'rooted', digitalObjects: 1 });
    await expectNoLeftovers();
  });

  it('fails on a bad checksum before extracting anything', async () => {
    const data = await zipBuffer([{ name: 'METS.x.xml', data: '<x/>' }]);
    await writeZip(path.join(box.deposit, 'u.zip'), data);
    await expect(runJob(byUpload('u.zip', { checksum_md5: 'd41d8cd98f00b204e9800998ecf8427e' }), recordingContext(box.settings))).rejects.toThrow(
      `Checksum mismatch for u.zip: expected MD5 d41d8cd98f00b204e9800998ecf8427e, got ${md5(data)}`,
    );
    await expectNoLeftovers();
  });

  it('refuses entries that traverse out of the extraction folder', async () => {
    const data = renameEntry(await zipBuffer([{ name: 'XX/evil.txt', data: 'pwned' }, { name: 'ok.txt', data: 'ok' }]), 'XX/evil.txt', '../evil.txt');
    await writeZip(path.join(box.deposit, 't.zip'), data);
    await expect(runJob(byUpload('t.zip'), recordingContext(box.settings))).rejects.toThrow(
      /Zip archive t\.zip rejected: .*escapes the extraction folder/,
    );
    expect(existsSync(path.join(box.temp, 'evil.txt'))).toBe(false);
    expect(existsSync(path.join(box.root, 'evil.txt'))).toBe(false);
    await expectNoLeftovers();
  });

  it('refuses absolute entry names', async () => {
    const data = renameEntry(await zipBuffer([{ name: 'Xtmp/abs.txt', data: 'pwned' }]), 'Xtmp/abs.txt', '/tmp/abs.txt');
    await writeZip(path.join(box.deposit, 'a.zip'), data);
    await expect(runJob(byUpload('a.zip'), recordingContext(box.settings))).rejects.toThrow(/escapes the extraction folder/);
    await expectNoLeftovers();
  });

  it('refuses symlink entries', async () => {
    const data = await zipBuffer([
      { name: 'dip/', dir: true },
      { name: 'dip/link', data: '/etc/passwd', mode: 0o120777 },
    ]);
    await writeZip(path.join(box.deposit, 's.zip'), data);
    await expect(runJob(byUpload('s.zip'), recordingContext(box.settings))).rejects.toThrow(
      'Zip archive s.zip rejected: entry "dip/link" is a symbolic link',
    );
    await expectNoLeftovers();
  });

  it('stops a zip bomb at dip_zip_max_bytes, counting written bytes', async () => {
    const settings = { ...box.settings, dip_zip_max_bytes: 1024 * 1024 };
    const data = await zipBuffer([{ name: 'bomb.bin', data: Buffer.alloc(8 * 1024 * 1024) }]);
    expect(data.length).toBeLessThan(64 * 1024);
    await writeZip(path.join(box.deposit, 'b.zip'), data);
    await expect(runJob(byUpload('b.zip'), recordingContext(settings))).rejects.toThrow(
      'Zip archive b.zip rejected: it expands beyond the 1048576 bytes allowed',
    );
    await expectNoLeftovers();
  });

  it('refuses more entries than dip_zip_max_entries', async () => {
    const settings = { ...box.settings, dip_zip_max_entries: 5 };
    const data = await zipBuffer(Array.from({ length: 6 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' })));
    await writeZip(path.join(box.deposit, 'n.zip'), data);
    await expect(runJob(byUpload('n.zip'), recordingContext(settings))).rejects.toThrow(
      'Zip archive n.zip rejected: it holds 6 entries, more than the 5 allowed',
    );
    await expectNoLeftovers();
  });

  it('reports a file that is not a zip', async () => {
    await writeFile(path.join(box.deposit, 'junk.zip'), 'this is not a zip file at all');
    await expect(runJob(byUpload('junk.zip'), recordingContext(box.settings))).rejects.toThrow(/Zip archive junk\.zip rejected: /);
    await expectNoLeftovers();
  });
});

/** A named pipe outside the deposit (a plain file where mkfifo is missing). */
async function trapFile(): Promise<string> {
  const trap = path.join(box.root, 'trap');
  try {
    execFileSync('mkfifo', [trap]);
  } catch {
    await writeFile(trap, 'TOP-SECRET');
  }
  return trap;
}

describe('XML', () => {
  it('refuses a DOCTYPE declaring an external entity and reads nothing', async () => {
    // A FIFO: opening it for reading would block (and the test time out), so success proves
    // nothing tried to read it.
    const secret = await trapFile();
    const dip = await generateDip(box.deposit, {
      files: [{ path: 'a.jpg', dmd: [{ dc: { title: 'placeholder' } }] }],
      doctype: `<!DOCTYPE mets:mets [<!ENTITY xxe SYSTEM "file://${secret}">]>`,
      rawTitle: '&xxe;',
    });
    await expect(runJob(byLocation(`file:///${dip.dipName}`), recordingContext(box.settings))).rejects.toThrow(
      `Refusing METS.${dip.aipUuid}.xml: its DOCTYPE declares entities (possible XXE or entity expansion attack)`,
    );
    expect(existsSync(box.output)).toBe(false);
  });

  it('refuses entity expansion (billion laughs)', async () => {
    const lols = ['<!ENTITY lol "lol">'];
    for (let i = 1; i <= 9; i += 1) lols.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
    const dip = await generateDip(box.deposit, {
      files: [{ path: 'a.jpg', dmd: [{ dc: { title: 'x' } }] }],
      doctype: `<!DOCTYPE mets:mets [${lols.join('')}]>`,
      rawTitle: '&lol9;',
    });
    await expect(runJob(byLocation(`file:///${dip.dipName}`), recordingContext(box.settings))).rejects.toThrow(
      /DOCTYPE declares entities/,
    );
  });

  it('does not expand undeclared entities: a parse error with the line', async () => {
    const dip = await generateDip(box.deposit, { files: [{ path: 'a.jpg', dmd: [{ dc: { title: 'x' } }] }], rawTitle: '&xxe;' });
    const line = (await readFile(dip.metsPath, 'utf8')).split('\n').findIndex((l) => l.includes('&xxe;')) + 1;
    await expect(runJob(byLocation(`file:///${dip.dipName}`), recordingContext(box.settings))).rejects.toThrow(
      new RegExp(`^Invalid XML in METS\\.${dip.aipUuid}\\.xml at line ${line}, column \\d+: undefined entity`),
    );
  });

  it('ignores an external DTD reference without fetching it', async () => {
    const trap = await trapFile();
    const dip = await generateDip(box.deposit, {
      files: [{ path: 'a.jpg' }],
      doctype: `<!DOCTYPE mets:mets SYSTEM "file://${trap}">`,
    });
    const result = await runJob(byLocation(`file:///${dip.dipName}`), recordingContext(box.settings));
    expect(result.digitalObjects).toBe(1);
  });

  it('reports truncated XML with its line', async () => {
    const dip = await generateDip(box.deposit, { files: [{ path: 'a.jpg' }, { path: 'b.jpg' }] });
    const size = (await stat(dip.metsPath)).size;
    await truncate(dip.metsPath, Math.floor(size / 2));
    await expect(runJob(byLocation(`file:///${dip.dipName}`), recordingContext(box.settings))).rejects.toThrow(
      new RegExp(`^Invalid XML in METS\\.${dip.aipUuid}\\.xml at line \\d+, column \\d+: `),
    );
    expect(existsSync(box.output)).toBe(false);
  });

  it('reports bytes that are not UTF-8', async () => {
    const dip = await generateDip(box.deposit, { files: [{ path: 'a.jpg', dmd: [{ dc: { title: 'TITLE' } }] }] });
    const bytes = await readFile(dip.metsPath);
    const at = bytes.indexOf('TITLE');
    bytes[at] = 0xff;
    await writeFile(dip.metsPath, bytes);
    await expect(runJob(byLocation(`file:///${dip.dipName}`), recordingContext(box.settings))).rejects.toThrow(
      /Invalid XML in METS\..*\.xml: bytes that are not valid utf-8/,
    );
  });

  it('refuses a document that is not METS, and a METS without a usable structMap', async () => {
    const dip = await generateDip(box.deposit, { files: [{ path: 'a.jpg' }] });
    await writeFile(dip.metsPath, '<?xml version="1.0"?><foo/>');
    await expect(runJob(byLocation(`file:///${dip.dipName}`), recordingContext(box.settings))).rejects.toThrow(
      `METS.${dip.aipUuid}.xml is not a METS document (root element is foo)`,
    );
    await writeFile(
      dip.metsPath,
      '<mets:mets xmlns:mets="http://www.loc.gov/METS/"><mets:structMap TYPE="logical" LABEL="Normative Directory Structure"><mets:div/></mets:structMap></mets:mets>',
    );
    await expect(runJob(byLocation(`file:///${dip.dipName}`), recordingContext(box.settings))).rejects.toThrow(
      /No usable structMap in METS\..*\.xml/,
    );
  });
});

describe('abort', () => {
  it('stops between items when the signal fires and leaves nothing half-written', async () => {
    const dip = await generateDip(box.deposit, { files: Array.from({ length: 6 }, (_, i) => ({ path: `f${i}.jpg` })) });
    const rec = recordingContext(box.settings);
    const progress = rec.ctx.progress;
    rec.ctx = { ...rec.ctx, progress: (n, d) => {
      progress(n, d);
      rec.controller.abort(new Error('timeout'));
    } };
    await expect(runJob(byLocation(`file:///${dip.dipName}`), rec)).rejects.toThrow('DIP ingest aborted: timeout');
    expect(rec.progress).toEqual([[1, 6]]);
    expect(await readdir(box.output)).toEqual([]);
  });

  it('keeps the previous package when a rerun fails', async () => {
    const dip = await generateDip(box.deposit, { files: [{ path: 'a.jpg' }] });
    const first = await runJob(byLocation(`file:///${dip.dipName}`), recordingContext(box.settings));
    const before = await readFile(path.join(first.outputDir, 'manifest.json'));
    await truncate(dip.metsPath, 100);
    await expect(runJob(byLocation(`file:///${dip.dipName}`), recordingContext(box.settings))).rejects.toThrow(/Invalid XML/);
    expect((await readFile(path.join(first.outputDir, 'manifest.json'))).equals(before)).toBe(true);
    expect(await readdir(box.output)).toEqual([dip.aipUuid]);
  });
});
