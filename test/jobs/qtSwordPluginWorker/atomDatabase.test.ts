// The DIP ingest into AtoM's own database, for each of the six real Archivematica METS (real images
// for the image originals), each deposited into a target that has siblings: the rows checked against
// AtoM's rules, the files under uploads/, the nested set, and the arUpdateEsIoDocumentsJob handed to
// AtoM's worker. The site: atomSiteFixture.ts.
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addLevel } from '../../harness/atomSite.js';
import { atomSiteMissing, INDEX_JOB, useAtomSite } from './atomSiteFixture.js';

if (atomSiteMissing) console.log(`Skipping the DIP-into-AtoM tests: ${atomSiteMissing}`);

describe.skipIf(atomSiteMissing !== undefined)("DIP ingest into AtoM's database", () => {
  const t = useAtomSite();

  it('01: flat, one text original: an Item under the target, no derivatives, the deposit removed', async () => {
    const { dip, result, rec } = await t.deposit('01_flat_premis2_fits_production.xml', t.targets[0]!);
    const { rows, masters } = await t.expectIngested(t.targets[0]!, dip, result);
    expect(rows.map((r) => [r.title, r.level, r.slug])).toEqual([['abc.txt', 'Item', 'abc-txt']]);
    expect(masters[0]!.name).toBe(`${dip.originals[0]!.uuid}-abc.txt`);
    expect(await t.db.query('SELECT usage_id FROM digital_object WHERE parent_id = ?', [masters[0]!.id])).toEqual([]);
    expect(rec.warnings).toEqual(['1 of 1 digital objects are not images and got no reference image or thumbnail']);
    expect(result.atom).toMatchObject({ targetSlug: 'target-1', slugs: ['abc-txt'], derivatives: 0, withoutDerivatives: 1, depositRemoved: true });
    expect(existsSync(path.join(t.root, 'deposit', dip.dipName))).toBe(false);
  });

  it('02: an image gets a reference image (<= 480 px) and a thumbnail (<= 270 x 1024) beside its master', async () => {
    const { dip, result, rec } = await t.deposit('02_flat_premis3_with_preservation.xml', t.targets[1]!);
    const { rows, masters } = await t.expectIngested(t.targets[1]!, dip, result);
    expect(rows.map((r) => [r.title, r.level, r.slug])).toEqual([["evelyn's photo.jpg", 'Item', 'evelyns-photo-jpg']]);
    expect(rec.warnings).toEqual([]);
    const master = masters[0]!;
    const derivatives = await t.db.query<{ usage_id: number; object_id: number | null; name: string; path: string; mime_type: string; media_type_id: number; checksum: string; slug: string }>(
      'SELECT d.usage_id, d.object_id, d.name, d.path, d.mime_type, d.media_type_id, d.checksum, s.slug FROM digital_object d JOIN slug s ON s.object_id = d.id WHERE d.parent_id = ? ORDER BY d.usage_id',
      [master.id],
    );
    const stem = `${dip.originals[0]!.uuid}-evelyn_s_photo`;
    expect(derivatives.map((d) => [d.usage_id, d.object_id, d.name, d.path, d.mime_type, d.media_type_id])).toEqual([
      [141, null, `${stem}_141.jpg`, master.path, 'image/jpeg', 136],
      [142, null, `${stem}_142.jpg`, master.path, 'image/jpeg', 136],
    ]);
    expect(derivatives.map((d) => d.slug)).toEqual([`${stem.toLowerCase().replace(/_/g, '-')}-141-jpg`, `${stem.toLowerCase().replace(/_/g, '-')}-142-jpg`]);
    const sharp = (await import('sharp')).default;
    const [reference, thumbnail] = await Promise.all(derivatives.map((d) => sharp(path.join(t.root, 'atom', d.path, d.name)).metadata()));
    expect([reference!.format, reference!.width, reference!.height]).toEqual(['jpeg', 480, 300]);
    expect([thumbnail!.format, thumbnail!.width, thumbnail!.height]).toEqual(['jpeg', 270, 169]);
    const [premis] = await t.db.query<{ puid: string; filename: string; size: number }>('SELECT puid, filename, size FROM premis_object WHERE information_object_id = ?', [rows[0]!.id]);
    expect(premis).toMatchObject({ puid: 'fmt/44', filename: "evelyn's photo.jpg", size: 158131 });
  });

  it('03: the objects dmdSec becomes a File holding the item; a DC creator becomes an actor with a creation event', async () => {
    const { dip, result } = await t.deposit('03_objects_dc_plus_custom_multi_dmdid.xml', t.targets[2]!);
    const { rows, aipId } = await t.expectIngested(t.targets[2]!, dip, result);
    expect(rows.map((r) => [r.title, r.level, r.slug, r.parent_id])).toEqual([
      ['Objects dir', 'File', 'objects-dir', t.targets[2]],
      ['OCR image', 'Item', 'ocr-image', rows[0]!.id],
    ]);
    // The File made from the main dmdSec is related to the AIP too, as AtoM relates it.
    const related = await t.db.query<{ object_id: number }>('SELECT object_id FROM relation WHERE subject_id = ? ORDER BY object_id', [aipId]);
    expect(related.map((r) => r.object_id)).toEqual(rows.map((r) => r.id));
    const events = await t.db.query<{ object_id: number; type_id: number; name: string; parent_id: number; slug: string }>(
      'SELECT e.object_id, e.type_id, n.authorized_form_of_name AS name, a.parent_id, s.slug FROM event e JOIN actor a ON a.id = e.actor_id JOIN actor_i18n n ON n.id = a.id JOIN slug s ON s.object_id = a.id WHERE e.object_id IN (?, ?)',
      [rows[0]!.id, rows[1]!.id],
    );
    expect(events).toContainEqual({ object_id: expect.any(Number), type_id: 111, name: 'Tesseract', parent_id: 3, slug: 'tesseract' });
  });

  it('04: an unknown level of description fails the job before anything is written; once AtoM has it, the hierarchy lands with its Dublin Core', async () => {
    const before = { objects: await t.counts(), files: await t.tree(path.join(t.root, 'atom')) };
    await expect(t.deposit('04_hierarchical_lod_arranged_sip.xml', t.targets[3]!)).rejects.toThrow('Level of description not found: Sub-series');
    expect(await t.counts()).toBe(before.objects);
    expect(await t.tree(path.join(t.root, 'atom'))).toEqual(before.files);
    await rm(path.join(t.root, 'deposit'), { recursive: true, force: true });

    await addLevel(t.db, 'Sub-series');
    const { dip, result } = await t.deposit('04_hierarchical_lod_arranged_sip.xml', t.targets[3]!);
    const { rows } = await t.expectIngested(t.targets[3]!, dip, result);
    expect(rows.map((r) => [r.title, r.level, r.slug, r.identifier])).toEqual([
      ['subdirectory', 'Sub-series', 'subdirectory', null],
      ['14000 Caen, France - Bird in my garden', 'File', '14000-caen-france-bird-in-my-garden', 'aporee_36644_41997'],
    ]);
    // The objects div's TYPE is the target's level.
    expect(await t.db.query('SELECT n.name FROM information_object io JOIN term_i18n n ON n.id = io.level_of_description_id WHERE io.id = ?', [t.targets[3]])).toEqual([{ name: 'Series' }]);
    const bird = rows[1]!.id;
    const [i18n] = await t.db.query('SELECT scope_and_content, location_of_originals, access_conditions FROM information_object_i18n WHERE id = ?', [bird]);
    expect(i18n).toEqual({ scope_and_content: 'Bird singing in my garden, Caen, France, Zoom H6', location_of_originals: 'Internet Archive', access_conditions: 'Public domain' });
    const terms = await t.db.query<{ taxonomy_id: number; name: string; parent_id: number }>(
      'SELECT t.taxonomy_id, n.name, t.parent_id FROM object_term_relation r JOIN term t ON t.id = r.term_id JOIN term_i18n n ON n.id = t.id WHERE r.object_id = ? ORDER BY r.id',
      [bird],
    );
    expect(terms.map((t) => [t.taxonomy_id, t.name, t.parent_id])).toEqual([
      [35, 'field recording', 110], [35, 'phonography', 110], [35, 'soundscapes', 110], [35, 'sound art', 110], [35, 'radio aporee', 110], [42, 'Caen, France', 110],
    ]);
    const events = await t.db.query('SELECT e.type_id, e.start_date, e.end_date, i.date, n.authorized_form_of_name AS actor FROM event e JOIN event_i18n i ON i.id = e.id JOIN actor_i18n n ON n.id = e.actor_id WHERE e.object_id = ? ORDER BY e.id', [bird]);
    expect(events).toEqual([
      { type_id: 114, start_date: null, end_date: null, date: null, actor: 'Radio Aporee' },
      { type_id: 111, start_date: null, end_date: null, date: '2017-05-27', actor: 'Nicolas Germain' },
    ]);
    // New terms went under the t.root term, inside its nested set.
    const [termRoot] = await t.db.query<{ lft: number; rgt: number }>('SELECT lft, rgt FROM term WHERE id = 110');
    const outside = await t.db.query('SELECT id FROM term WHERE lft IS NOT NULL AND (lft <= ? OR rgt >= ?)', [termRoot!.lft, termRoot!.rgt]);
    expect(outside.filter((row) => (row as { id: number }).id !== 110)).toEqual([]);
  });

  it("05: a title in other scripts gets AtoM's transliterated ASCII slug", async () => {
    const { dip, result } = await t.deposit('05_unicode_originalname_rights.xml', t.targets[4]!);
    const { rows } = await t.expectIngested(t.targets[4]!, dip, result);
    expect(rows.map((r) => [r.title, r.slug])).toEqual([['Sed dui velit, varius a varius quis namu2016每月学生会参加者会议项目', 'sed-dui-velit-varius-a-varius-quis-namu2016']]);
  });

  it('06: two items of the same name get the slug and the slug with -2', async () => {
    const { dip, result } = await t.deposit('06_nested_dup_names_empty_dirs.xml', t.targets[5]!);
    const { rows } = await t.expectIngested(t.targets[5]!, dip, result);
    expect(rows.map((r) => [r.title, r.slug])).toEqual([
      ['Cv7a7v7WAAADJTO.jpg', 'cv7a7v7waaadjto-jpg'],
      ['Cv7a7v7WAAADJTO.jpg', 'cv7a7v7waaadjto-jpg-2'],
    ]);
  });

  it("every ingest handed AtoM's worker an arUpdateEsIoDocumentsJob for its target", async () => {
    const jobs = await t.db.query<{ id: number; object_id: number }>('SELECT id, object_id FROM job WHERE name = ? ORDER BY id', [INDEX_JOB]);
    expect(jobs.map((job) => job.object_id)).toEqual(t.targets.slice(0, 6));
    // gearman -w runs them one after another: wait for the last payload to be written down.
    let payloads: Record<string, unknown>[] = [];
    for (const deadline = Date.now() + 10_000; payloads.length < jobs.length && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
      payloads = (await readFile(t.indexLog, 'utf8').catch(() => '')).split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
    }
    expect(payloads).toEqual(jobs.map((job) => ({ ioIds: [job.object_id], updateIos: true, updateDescendants: true, objectId: job.object_id, name: INDEX_JOB, id: job.id })));
  });

});
