// The DIP ingest into AtoM's own database: a private MariaDB with AtoM's real schema, the six real
// Archivematica METS as DIPs (real images for the image originals), each deposited into a target
// that has siblings; the rows checked against AtoM's rules, the files under uploads/, the nested
// set, the arUpdateEsIoDocumentsJob handed to AtoM's worker (here `gearman -w`), and all-or-nothing.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAtomSite, type AtomSiteService } from '../../../src/atom/site.js';
import { serverStatus } from '../../../src/gearman/admin.js';
import { addDescription, addLevel, nestedSetFaults, seedAtomSite, type SeededSite } from '../../harness/atomSite.js';
import { trackChild } from '../../harness/cleanup.js';
import { type Gearmand, startGearmand } from '../../harness/gearmand.js';
import { atomFixtures, type Mariadb, startMariadb } from '../../harness/mariadb.js';
import { tempDir } from '../../harness/worker.js';
import { generateDip } from './dipGenerator.js';
import { fixtureDip, metsFixtures } from './fixtureDip.js';
import { DIP_FORMAT, recordingContext, runJob } from './helpers.js';
import { writeZip, zipFolder } from './zipper.js';

const fixtures = atomFixtures();
const missing = 'missing' in fixtures ? fixtures.missing : !existsSync(metsFixtures) ? `${metsFixtures} not found` : undefined;
if (missing) console.log(`Skipping the DIP-into-AtoM tests: ${missing}`);

const INDEX_JOB = 'arUpdateEsIoDocumentsJob';

describe.skipIf(missing !== undefined)("DIP ingest into AtoM's database", () => {
  let db: Mariadb;
  let gearmand: Gearmand;
  let site: AtomSiteService;
  let seeded: SeededSite;
  let indexWorker: ChildProcess;
  let root: string;
  let indexLog: string;
  const targets: number[] = [];

  beforeAll(async () => {
    [db, gearmand] = await Promise.all([startMariadb(), startGearmand()]);
    seeded = await seedAtomSite(db);
    // Targets with siblings on both sides, under a collection that has a sibling too.
    const collection = await addDescription(db, 1, 'Collection', 'collection');
    await addDescription(db, 1, 'Other collection', 'other-collection');
    for (let i = 1; i <= 8; i += 1) targets.push(await addDescription(db, collection, `Target ${i}`, `target-${i}`));
    root = tempDir({}, 'atom-root-');
    indexLog = path.join(root, 'index-jobs.log');
    // AtoM's PHP worker, as far as this test needs it: it serves the index job and writes down each payload.
    indexWorker = trackChild(
      spawn('gearman', ['-w', '-h', '127.0.0.1', '-p', String(gearmand.port), '-f', INDEX_JOB, '--', 'sh', '-c', `cat >> ${indexLog}; echo >> ${indexLog}`], { stdio: 'ignore' }),
    );
    for (;;) {
      const status = await serverStatus({ host: '127.0.0.1', port: gearmand.port });
      if (status.some((s) => s.function === INDEX_JOB && s.availableWorkers > 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    site = openAtomSite({
      database: { host: db.host, port: db.port, database: db.database, user: db.user, password: db.password, charset: 'utf8mb4', source: 'test' },
      connections: 2,
      servers: [{ host: '127.0.0.1', port: gearmand.port }],
      prefix: '',
    });
  }, 120_000);
  afterAll(async () => {
    indexWorker?.kill('SIGKILL');
    await site?.close();
    await Promise.all([db?.stop(), gearmand?.stop()]);
    if (root) await rm(root, { recursive: true, force: true });
  });

  function settings(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { sword_deposit_dir: path.join(root, 'deposit'), temp_dir: path.join(root, 'tmp'), dip_output_dir: path.join(root, 'csv'), atom_root_dir: path.join(root, 'atom'), ...extra };
  }

  async function deposit(file: string, target: number, extra: Record<string, unknown> = {}) {
    const dip = await fixtureDip(path.join(root, 'deposit'), file, { images: true });
    const rec = recordingContext(settings(extra));
    const ctx = { ...rec.ctx, atomSite: site };
    const result = await runJob({ id: 1, name: 'qtSwordPluginWorker', format: DIP_FORMAT, location: `file:///${dip.dipName}`, objectId: target }, { ...rec, ctx });
    return { dip, rec, result };
  }

  async function under(target: number) {
    const [t] = await db.query<{ lft: number; rgt: number }>('SELECT lft, rgt FROM information_object WHERE id = ?', [target]);
    return db.query<{ id: number; parent_id: number; title: string; slug: string; level: string | null; status: number; identifier: string | null }>(
      `SELECT io.id, io.parent_id, i.title, s.slug, ln.name AS level, st.status_id AS status, io.identifier
         FROM information_object io JOIN information_object_i18n i ON i.id = io.id AND i.culture = 'en'
         JOIN slug s ON s.object_id = io.id LEFT JOIN term_i18n ln ON ln.id = io.level_of_description_id AND ln.culture = 'en'
         LEFT JOIN status st ON st.object_id = io.id AND st.type_id = 158
        WHERE io.lft > ? AND io.rgt < ? ORDER BY io.lft`,
      [t!.lft, t!.rgt],
    );
  }

  /** What every ingest must leave, whatever the METS: checked against the rows and files. */
  async function expectIngested(target: number, dip: { aipUuid: string; originals: { uuid: string }[] }, result: Awaited<ReturnType<typeof runJob>>) {
    expect(result.output).toBe('database');
    const rows = await under(target);
    expect(rows).toHaveLength(result.descriptions);
    for (const row of rows) {
      expect(row.title).not.toBe('');
      expect(row.slug).toMatch(/^[0-9a-z]+(-[0-9a-z]+)*$/);
      expect(row.level).not.toBeNull();
      expect(row.status).toBe(159);
    }
    const [aip] = await db.query<{ id: number; part_of: number; digital_object_count: number; filename: string }>('SELECT id, part_of, digital_object_count, filename FROM aip WHERE uuid = ?', [dip.aipUuid]);
    expect(aip).toMatchObject({ part_of: target, digital_object_count: dip.originals.length, filename: result.aipName });
    const ids = rows.map((row) => row.id);
    const masters = await db.query<{ id: number; object_id: number; path: string; name: string; checksum: string; byte_size: number; checksum_type: string }>(
      `SELECT id, object_id, path, name, checksum, byte_size, checksum_type FROM digital_object WHERE usage_id = 140 AND object_id IN (${ids.join(',')})`,
    );
    expect(masters).toHaveLength(result.digitalObjects);
    expect(new Set(masters.map((m) => m.object_id)).size).toBe(masters.length);
    for (const master of masters) {
      expect(master.path).toBe(`/uploads/r/null/${master.checksum.slice(0, 1)}/${master.checksum.slice(1, 2)}/${master.checksum.slice(2, 3)}/${master.checksum}/`);
      const bytes = await readFile(path.join(root, 'atom', master.path, master.name));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(master.checksum);
      expect(bytes.length).toBe(Number(master.byte_size));
      expect(master.checksum_type).toBe('sha256');
    }
    const related = await db.query<{ object_id: number }>('SELECT object_id FROM relation WHERE subject_id = ? AND type_id = 178', [aip!.id]);
    for (const master of masters) expect(related.map((r) => r.object_id)).toContain(master.object_id);
    const uuids = await db.query<{ value: string }>(
      `SELECT v.value FROM property p JOIN property_i18n v ON v.id = p.id WHERE p.scope = 'Archivematica AIP' AND p.name = 'objectUUID' AND p.object_id IN (${ids.join(',')})`,
    );
    expect(uuids.map((u) => u.value).sort()).toEqual(dip.originals.map((o) => o.uuid).sort().slice(0, result.digitalObjects).sort());
    expect(await nestedSetFaults(db)).toEqual([]);
    const [job] = await db.query<{ id: number; object_id: number; status_id: number }>('SELECT id, object_id, status_id FROM job WHERE name = ? ORDER BY id DESC LIMIT 1', [INDEX_JOB]);
    expect(job).toMatchObject({ id: result.atom?.indexJobId, object_id: target, status_id: 183 });
    return { rows, masters, aipId: aip!.id };
  }

  it('01: flat, one text original: an Item under the target, no derivatives, the deposit removed', async () => {
    const { dip, result, rec } = await deposit('01_flat_premis2_fits_production.xml', targets[0]!);
    const { rows, masters } = await expectIngested(targets[0]!, dip, result);
    expect(rows.map((r) => [r.title, r.level, r.slug])).toEqual([['abc.txt', 'Item', 'abc-txt']]);
    expect(masters[0]!.name).toBe(`${dip.originals[0]!.uuid}-abc.txt`);
    expect(await db.query('SELECT usage_id FROM digital_object WHERE parent_id = ?', [masters[0]!.id])).toEqual([]);
    expect(rec.warnings).toEqual(['1 of 1 digital objects are not images and got no reference image or thumbnail']);
    expect(result.atom).toMatchObject({ targetSlug: 'target-1', slugs: ['abc-txt'], derivatives: 0, withoutDerivatives: 1, depositRemoved: true });
    expect(existsSync(path.join(root, 'deposit', dip.dipName))).toBe(false);
  });
  async function tree(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
    return entries.map((e) => path.join(e.parentPath, e.name)).sort();
  }
  const counts = async () => (await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM object'))[0]!.n;

  it('02: an image gets a reference image (<= 480 px) and a thumbnail (<= 270 x 1024) beside its master', async () => {
    const { dip, result, rec } = await deposit('02_flat_premis3_with_preservation.xml', targets[1]!);
    const { rows, masters } = await expectIngested(targets[1]!, dip, result);
    expect(rows.map((r) => [r.title, r.level, r.slug])).toEqual([["evelyn's photo.jpg", 'Item', 'evelyns-photo-jpg']]);
    expect(rec.warnings).toEqual([]);
    const master = masters[0]!;
    const derivatives = await db.query<{ usage_id: number; object_id: number | null; name: string; path: string; mime_type: string; media_type_id: number; checksum: string; slug: string }>(
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
    const [reference, thumbnail] = await Promise.all(derivatives.map((d) => sharp(path.join(root, 'atom', d.path, d.name)).metadata()));
    expect([reference!.format, reference!.width, reference!.height]).toEqual(['jpeg', 480, 300]);
    expect([thumbnail!.format, thumbnail!.width, thumbnail!.height]).toEqual(['jpeg', 270, 169]);
    const [premis] = await db.query<{ puid: string; filename: string; size: number }>('SELECT puid, filename, size FROM premis_object WHERE information_object_id = ?', [rows[0]!.id]);
    expect(premis).toMatchObject({ puid: 'fmt/44', filename: "evelyn's photo.jpg", size: 158131 });
  });

  it('03: the objects dmdSec becomes a File holding the item; a DC creator becomes an actor with a creation event', async () => {
    const { dip, result } = await deposit('03_objects_dc_plus_custom_multi_dmdid.xml', targets[2]!);
    const { rows, aipId } = await expectIngested(targets[2]!, dip, result);
    expect(rows.map((r) => [r.title, r.level, r.slug, r.parent_id])).toEqual([
      ['Objects dir', 'File', 'objects-dir', targets[2]],
      ['OCR image', 'Item', 'ocr-image', rows[0]!.id],
    ]);
    // The File made from the main dmdSec is related to the AIP too, as AtoM relates it.
    const related = await db.query<{ object_id: number }>('SELECT object_id FROM relation WHERE subject_id = ? ORDER BY object_id', [aipId]);
    expect(related.map((r) => r.object_id)).toEqual(rows.map((r) => r.id));
    const events = await db.query<{ object_id: number; type_id: number; name: string; parent_id: number; slug: string }>(
      'SELECT e.object_id, e.type_id, n.authorized_form_of_name AS name, a.parent_id, s.slug FROM event e JOIN actor a ON a.id = e.actor_id JOIN actor_i18n n ON n.id = a.id JOIN slug s ON s.object_id = a.id WHERE e.object_id IN (?, ?)',
      [rows[0]!.id, rows[1]!.id],
    );
    expect(events).toContainEqual({ object_id: expect.any(Number), type_id: 111, name: 'Tesseract', parent_id: 3, slug: 'tesseract' });
  });

  it('04: an unknown level of description fails the job before anything is written; once AtoM has it, the hierarchy lands with its Dublin Core', async () => {
    const before = { objects: await counts(), files: await tree(path.join(root, 'atom')) };
    await expect(deposit('04_hierarchical_lod_arranged_sip.xml', targets[3]!)).rejects.toThrow('Level of description not found: Sub-series');
    expect(await counts()).toBe(before.objects);
    expect(await tree(path.join(root, 'atom'))).toEqual(before.files);
    await rm(path.join(root, 'deposit'), { recursive: true, force: true });

    await addLevel(db, 'Sub-series');
    const { dip, result } = await deposit('04_hierarchical_lod_arranged_sip.xml', targets[3]!);
    const { rows } = await expectIngested(targets[3]!, dip, result);
    expect(rows.map((r) => [r.title, r.level, r.slug, r.identifier])).toEqual([
      ['subdirectory', 'Sub-series', 'subdirectory', null],
      ['14000 Caen, France - Bird in my garden', 'File', '14000-caen-france-bird-in-my-garden', 'aporee_36644_41997'],
    ]);
    // The objects div's TYPE is the target's level.
    expect(await db.query('SELECT n.name FROM information_object io JOIN term_i18n n ON n.id = io.level_of_description_id WHERE io.id = ?', [targets[3]])).toEqual([{ name: 'Series' }]);
    const bird = rows[1]!.id;
    const [i18n] = await db.query('SELECT scope_and_content, location_of_originals, access_conditions FROM information_object_i18n WHERE id = ?', [bird]);
    expect(i18n).toEqual({ scope_and_content: 'Bird singing in my garden, Caen, France, Zoom H6', location_of_originals: 'Internet Archive', access_conditions: 'Public domain' });
    const terms = await db.query<{ taxonomy_id: number; name: string; parent_id: number }>(
      'SELECT t.taxonomy_id, n.name, t.parent_id FROM object_term_relation r JOIN term t ON t.id = r.term_id JOIN term_i18n n ON n.id = t.id WHERE r.object_id = ? ORDER BY r.id',
      [bird],
    );
    expect(terms.map((t) => [t.taxonomy_id, t.name, t.parent_id])).toEqual([
      [35, 'field recording', 110], [35, 'phonography', 110], [35, 'soundscapes', 110], [35, 'sound art', 110], [35, 'radio aporee', 110], [42, 'Caen, France', 110],
    ]);
    const events = await db.query('SELECT e.type_id, e.start_date, e.end_date, i.date, n.authorized_form_of_name AS actor FROM event e JOIN event_i18n i ON i.id = e.id JOIN actor_i18n n ON n.id = e.actor_id WHERE e.object_id = ? ORDER BY e.id', [bird]);
    expect(events).toEqual([
      { type_id: 114, start_date: null, end_date: null, date: null, actor: 'Radio Aporee' },
      { type_id: 111, start_date: null, end_date: null, date: '2017-05-27', actor: 'Nicolas Germain' },
    ]);
    // New terms went under the root term, inside its nested set.
    const [termRoot] = await db.query<{ lft: number; rgt: number }>('SELECT lft, rgt FROM term WHERE id = 110');
    const outside = await db.query('SELECT id FROM term WHERE lft IS NOT NULL AND (lft <= ? OR rgt >= ?)', [termRoot!.lft, termRoot!.rgt]);
    expect(outside.filter((row) => (row as { id: number }).id !== 110)).toEqual([]);
  });

  it("05: a title in other scripts gets AtoM's transliterated ASCII slug", async () => {
    const { dip, result } = await deposit('05_unicode_originalname_rights.xml', targets[4]!);
    const { rows } = await expectIngested(targets[4]!, dip, result);
    expect(rows.map((r) => [r.title, r.slug])).toEqual([['Sed dui velit, varius a varius quis namu2016每月学生会参加者会议项目', 'sed-dui-velit-varius-a-varius-quis-namu2016']]);
  });

  it('06: two items of the same name get the slug and the slug with -2', async () => {
    const { dip, result } = await deposit('06_nested_dup_names_empty_dirs.xml', targets[5]!);
    const { rows } = await expectIngested(targets[5]!, dip, result);
    expect(rows.map((r) => [r.title, r.slug])).toEqual([
      ['Cv7a7v7WAAADJTO.jpg', 'cv7a7v7waaadjto-jpg'],
      ['Cv7a7v7WAAADJTO.jpg', 'cv7a7v7waaadjto-jpg-2'],
    ]);
  });

  it("every ingest handed AtoM's worker an arUpdateEsIoDocumentsJob for its target", async () => {
    const jobs = await db.query<{ id: number; object_id: number }>('SELECT id, object_id FROM job WHERE name = ? ORDER BY id', [INDEX_JOB]);
    expect(jobs.map((job) => job.object_id)).toEqual(targets.slice(0, 6));
    // gearman -w runs them one after another: wait for the last payload to be written down.
    let payloads: Record<string, unknown>[] = [];
    for (const deadline = Date.now() + 10_000; payloads.length < jobs.length && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
      payloads = (await readFile(indexLog, 'utf8').catch(() => '')).split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
    }
    expect(payloads).toEqual(jobs.map((job) => ({ ioIds: [job.object_id], updateIos: true, updateDescendants: true, objectId: job.object_id, name: INDEX_JOB, id: job.id })));
  });

  it('the same AIP again is refused, naming where it went, and adds nothing', async () => {
    const before = { objects: await counts(), files: await tree(path.join(root, 'atom')) };
    const [aip] = await db.query<{ uuid: string }>('SELECT uuid FROM aip WHERE part_of = ?', [targets[1]]);
    await expect(deposit('02_flat_premis3_with_preservation.xml', targets[6]!)).rejects.toThrow(
      `AIP ${aip!.uuid} is in AtoM already (under "target-2", as "evelyns-photo-jpg"): nothing was added. Set dip_replace: true to replace it`,
    );
    expect(await counts()).toBe(before.objects);
    expect(await tree(path.join(root, 'atom'))).toEqual(before.files);
    expect(await under(targets[6]!)).toEqual([]);
    await rm(path.join(root, 'deposit'), { recursive: true, force: true });
  });

  it('dip_replace: the earlier ingest goes (rows and unshared files), the new one takes its place, the nested set stays valid', async () => {
    const [old] = await under(targets[1]!);
    const { dip, result } = await deposit('02_flat_premis3_with_preservation.xml', targets[6]!, { dip_replace: true });
    expect(result.atom?.replaced).toBe(true);
    expect(await under(targets[1]!)).toEqual([]);
    expect(await db.query('SELECT id FROM object WHERE id = ?', [old!.id])).toEqual([]);
    // Nothing of the old ingest is left behind in the tables the foreign keys would not clean.
    const orphans = await db.query(
      "SELECT o.id, o.class_name FROM object o WHERE o.class_name IN ('QubitInformationObject', 'QubitDigitalObject', 'QubitRelation', 'QubitEvent', 'QubitPremisObject', 'QubitObjectTermRelation') AND NOT EXISTS (SELECT 1 FROM information_object WHERE id = o.id) AND NOT EXISTS (SELECT 1 FROM digital_object WHERE id = o.id) AND NOT EXISTS (SELECT 1 FROM relation WHERE id = o.id) AND NOT EXISTS (SELECT 1 FROM event WHERE id = o.id) AND NOT EXISTS (SELECT 1 FROM premis_object WHERE id = o.id) AND NOT EXISTS (SELECT 1 FROM object_term_relation WHERE id = o.id)",
    );
    expect(orphans).toEqual([]);
    const { rows } = await expectIngested(targets[6]!, dip, result);
    // Same content, same name: the files the new rows point at are the old ones, kept.
    expect(rows.map((r) => r.slug)).toEqual(['evelyns-photo-jpg']);
    expect((await db.query('SELECT COUNT(*) AS n FROM aip WHERE uuid = ?', [dip.aipUuid]))[0]).toEqual({ n: 1 });
  });

  describe('a failure mid-way commits nothing and leaves no file', () => {
    async function generated(name: string) {
      return generateDip(path.join(root, 'deposit'), { name, files: Array.from({ length: 600 }, (_, i) => ({ path: `f${i}.txt`, accessContent: `file ${name} ${i}\n` })) });
    }
    async function failMidWay(name: string, when: (rec: ReturnType<typeof recordingContext>) => Promise<void>) {
      const dip = await generated(name);
      const before = { objects: await counts(), files: await tree(path.join(root, 'atom')) };
      const rec = recordingContext(settings());
      let fired = false;
      const ctx = {
        ...rec.ctx,
        atomSite: site,
        // Past 600 the files are placed and the rows are being written: 250 descriptions per round.
        progress: (done: number) => {
          if (done > 600 && !fired) {
            fired = true;
            void when(rec);
          }
        },
      };
      const outcome = await runJob({ id: 1, format: DIP_FORMAT, location: `file:///${dip.dipName}`, objectId: targets[7] }, { ...rec, ctx }).then(
        () => 'completed',
        (error: Error) => error.message,
      );
      expect(fired).toBe(true);
      expect(await counts()).toBe(before.objects);
      expect(await tree(path.join(root, 'atom'))).toEqual(before.files);
      expect((await readdir(path.join(root, 'tmp'))).filter((f) => f.startsWith('atom-worker-uploads-'))).toEqual([]);
      expect(await under(targets[7]!)).toEqual([]);
      expect(await nestedSetFaults(db)).toEqual([]);
      // The deposit stays for another try.
      expect(existsSync(dip.dipDir)).toBe(true);
      await rm(dip.dipDir, { recursive: true, force: true });
      return outcome;
    }

    it('the database connection killed during the writes', async () => {
      const outcome = await failMidWay('killed-db', async () => {
        const sessions = await db.query<{ id: number }>("SELECT id FROM information_schema.processlist WHERE user = 'atom'");
        for (const session of sessions) await db.query(`KILL ${Number(session.id)}`).catch(() => undefined);
      });
      expect(outcome).not.toBe('completed');
    });

    it('the job aborted (shutdown, timeout) during the writes', async () => {
      const outcome = await failMidWay('aborted', async (rec) => rec.controller.abort(new Error('the worker is stopping')));
      expect(outcome).toBe('DIP ingest aborted: the worker is stopping');
    });
  });

  it('a full disk under uploads/: the job fails saying so, and nothing is left in the database or on the disk', async (context) => {
    // A real ENOSPC: a 256 KiB tmpfs mounted as AtoM's uploads folder (needs root, as CI runs).
    const uploads = path.join(root, 'atom-full', 'uploads');
    await mkdir(uploads, { recursive: true });
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', uploads], { encoding: 'utf8' });
    if (mounted.status !== 0) {
      console.log(`Skipping the full-disk test: cannot mount a tmpfs (${(mounted.stderr || mounted.error?.message || '').trim()}); it needs root`);
      context.skip();
    }
    try {
      const dip = await generateDip(path.join(root, 'deposit'), { name: 'full', files: Array.from({ length: 40 }, (_, i) => ({ path: `big${i}.txt`, accessContent: `${i}`.padEnd(16_384, '.') })) });
      const before = await counts();
      const rec = recordingContext(settings({ atom_root_dir: path.join(root, 'atom-full') }));
      await expect(runJob({ id: 1, format: DIP_FORMAT, location: `file:///${dip.dipName}`, objectId: targets[7] }, { ...rec, ctx: { ...rec.ctx, atomSite: site } })).rejects.toThrow(
        /^The disk is full: cannot (copy .* into AtoM's uploads folder|create .*)$/,
      );
      expect(await counts()).toBe(before);
      expect(await tree(uploads)).toEqual([]);
      expect((await readdir(path.join(root, 'tmp'))).filter((f) => f.startsWith('atom-worker-uploads-'))).toEqual([]);
      await rm(dip.dipDir, { recursive: true, force: true });
    } finally {
      spawnSync('umount', [uploads]);
    }
  });

  it('the same AtoM job delivered again after its ingest committed (its worker died before WORK_COMPLETE): answered from the record, nothing twice', async () => {
    const dip = await generateDip(path.join(root, 'deposit'), { name: 'redelivered', files: [{ path: 'a.txt' }, { path: 'b.txt' }] });
    const rec = recordingContext(settings());
    const ctx = { ...rec.ctx, atomSite: site, atom: { jobId: 4242, setDownloadPath: () => undefined } };
    const payload = { id: 4242, format: DIP_FORMAT, location: `file:///${dip.dipName}`, objectId: targets[7] };
    const first = await runJob(payload, { ...rec, ctx });
    expect(first).toMatchObject({ output: 'database', descriptions: 2, digitalObjects: 2 });
    expect(existsSync(dip.dipDir)).toBe(false);
    const before = await counts();
    const again = await runJob(payload, { ...rec, ctx });
    expect(again).toEqual({ aipUuid: first.aipUuid, aipName: first.aipName, mode: 'flat', descriptions: 2, digitalObjects: 2, skipped: 0, warnings: [], output: 'database', redelivered: true });
    expect(await counts()).toBe(before);
  });

  it("an upload where AtoM saves it (/tmp/php_qubit_*) is ingested and removed; one outside /tmp and the deposit folder is refused", async () => {
    const staging = tempDir({}, 'dip-zip-');
    const dip = await generateDip(staging, { name: 'zipped', files: [{ path: 'a.txt' }] });
    const zip = path.join('/tmp', `php_qubit_${process.pid}_${Date.now()}`);
    await writeZip(zip, await zipFolder(dip.dipDir, `${dip.dipName}/`));
    const rec = recordingContext(settings());
    const result = await runJob({ id: 1, format: DIP_FORMAT, filename: zip, type: 'application/zip', objectId: targets[7] }, { ...rec, ctx: { ...rec.ctx, atomSite: site } });
    expect(result).toMatchObject({ aipUuid: dip.aipUuid, output: 'database', digitalObjects: 1, atom: { depositRemoved: true } });
    expect(existsSync(zip)).toBe(false);
    // Neither under /tmp nor in the deposit folder (a checkout may itself be under /tmp).
    const outside = path.join('/var/tmp', `atom-worker-upload-test-${process.pid}.zip`);
    await mkdir(path.dirname(outside), { recursive: true });
    await writeZip(outside, await zipFolder(dip.dipDir, `${dip.dipName}/`));
    await expect(runJob({ id: 1, format: DIP_FORMAT, filename: outside, objectId: targets[7] }, { ...rec, ctx: { ...rec.ctx, atomSite: site } })).rejects.toThrow(/outside/);
    await rm(staging, { recursive: true, force: true });
    await rm(outside, { force: true });
  });
});
