// The DIP ingest into AtoM's database, all or nothing: a re-deposit, dip_replace, a redelivered job,
// failures mid-way (the database connection killed, the job aborted, a full disk), and uploads
// where AtoM saves them. The site: atomSiteFixture.ts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nestedSetFaults } from '../../harness/atomSite.js';
import { tempDir } from '../../harness/worker.js';
import { atomSiteMissing, useAtomSite } from './atomSiteFixture.js';
import { generateDip } from './dipGenerator.js';
import { DIP_FORMAT, recordingContext, runJob } from './helpers.js';
import { writeZip, zipFolder } from './zipper.js';

if (atomSiteMissing) console.log(`Skipping the DIP-into-AtoM tests: ${atomSiteMissing}`);

describe.skipIf(atomSiteMissing !== undefined)("DIP ingest into AtoM's database: all or nothing", () => {
  const t = useAtomSite();

  it('an AIP for the later tests: 02 into target 2', async () => {
    const { dip, result } = await t.deposit('02_flat_premis3_with_preservation.xml', t.targets[1]!);
    await t.expectIngested(t.targets[1]!, dip, result);
  });

  it('the same AIP again is refused, naming where it went, and adds nothing', async () => {
    const before = { objects: await t.counts(), files: await t.tree(path.join(t.root, 'atom')) };
    const [aip] = await t.db.query<{ uuid: string }>('SELECT uuid FROM aip WHERE part_of = ?', [t.targets[1]]);
    await expect(t.deposit('02_flat_premis3_with_preservation.xml', t.targets[6]!)).rejects.toThrow(
      `AIP ${aip!.uuid} is in AtoM already (under "target-2", as "evelyns-photo-jpg"): nothing was added. Set dip_replace: true to replace it`,
    );
    expect(await t.counts()).toBe(before.objects);
    expect(await t.tree(path.join(t.root, 'atom'))).toEqual(before.files);
    expect(await t.under(t.targets[6]!)).toEqual([]);
    await rm(path.join(t.root, 'deposit'), { recursive: true, force: true });
  });

  it('dip_replace: the earlier ingest goes (rows and unshared files), the new one takes its place, the nested set stays valid', async () => {
    const [old] = await t.under(t.targets[1]!);
    const { dip, result } = await t.deposit('02_flat_premis3_with_preservation.xml', t.targets[6]!, { dip_replace: true });
    expect(result.atom?.replaced).toBe(true);
    expect(await t.under(t.targets[1]!)).toEqual([]);
    expect(await t.db.query('SELECT id FROM object WHERE id = ?', [old!.id])).toEqual([]);
    // Nothing of the old ingest is left behind in the tables the foreign keys would not clean.
    const orphans = await t.db.query(
      "SELECT o.id, o.class_name FROM object o WHERE o.class_name IN ('QubitInformationObject', 'QubitDigitalObject', 'QubitRelation', 'QubitEvent', 'QubitPremisObject', 'QubitObjectTermRelation') AND NOT EXISTS (SELECT 1 FROM information_object WHERE id = o.id) AND NOT EXISTS (SELECT 1 FROM digital_object WHERE id = o.id) AND NOT EXISTS (SELECT 1 FROM relation WHERE id = o.id) AND NOT EXISTS (SELECT 1 FROM event WHERE id = o.id) AND NOT EXISTS (SELECT 1 FROM premis_object WHERE id = o.id) AND NOT EXISTS (SELECT 1 FROM object_term_relation WHERE id = o.id)",
    );
    expect(orphans).toEqual([]);
    const { rows } = await t.expectIngested(t.targets[6]!, dip, result);
    // Same content, same name: the files the new rows point at are the old ones, kept.
    expect(rows.map((r) => r.slug)).toEqual(['evelyns-photo-jpg']);
    expect((await t.db.query('SELECT COUNT(*) AS n FROM aip WHERE uuid = ?', [dip.aipUuid]))[0]).toEqual({ n: 1 });
  });

  describe('a failure mid-way commits nothing and leaves no file', () => {
    async function generated(name: string) {
      return generateDip(path.join(t.root, 'deposit'), { name, files: Array.from({ length: 600 }, (_, i) => ({ path: `f${i}.txt`, accessContent: `file ${name} ${i}\n` })) });
    }
    async function failMidWay(name: string, when: (rec: ReturnType<typeof recordingContext>) => Promise<void>) {
      const dip = await generated(name);
      const before = { objects: await t.counts(), files: await t.tree(path.join(t.root, 'atom')) };
      const rec = recordingContext(t.settings());
      let fired = false;
      const ctx = {
        ...rec.ctx,
        atomSite: t.site,
        // Past 600 the files are placed and the rows are being written: 250 descriptions per round.
        progress: (done: number) => {
          if (done > 600 && !fired) {
            fired = true;
            void when(rec);
          }
        },
      };
      const outcome = await runJob({ id: 1, format: DIP_FORMAT, location: `file:///${dip.dipName}`, objectId: t.targets[7] }, { ...rec, ctx }).then(
        () => 'completed',
        (error: Error) => error.message,
      );
      expect(fired).toBe(true);
      expect(await t.counts()).toBe(before.objects);
      expect(await t.tree(path.join(t.root, 'atom'))).toEqual(before.files);
      expect((await readdir(path.join(t.root, 'tmp'))).filter((f) => f.startsWith('atom-worker-uploads-'))).toEqual([]);
      expect(await t.under(t.targets[7]!)).toEqual([]);
      expect(await nestedSetFaults(t.db)).toEqual([]);
      // The deposit stays for another try.
      expect(existsSync(dip.dipDir)).toBe(true);
      await rm(dip.dipDir, { recursive: true, force: true });
      return outcome;
    }

    it('the database connection killed during the writes', async () => {
      const outcome = await failMidWay('killed-db', async () => {
        const sessions = await t.db.query<{ id: number }>("SELECT id FROM information_schema.processlist WHERE user = 'atom'");
        for (const session of sessions) await t.db.query(`KILL ${Number(session.id)}`).catch(() => undefined);
      });
      expect(outcome).not.toBe('completed');
    });

    it('the job aborted (shutdown, timeout) during the writes', async () => {
      const outcome = await failMidWay('aborted', async (rec) => rec.controller.abort(new Error('the worker is stopping')));
      expect(outcome).toBe('DIP ingest aborted: the worker is stopping');
    });
  });

  it('a full disk under uploads/: the job fails saying so, and nothing is left in the database or on the disk', async (context) => {
    // A real ENOSPC: a 256 KiB tmpfs mounted as AtoM's uploads folder (needs t.root, as CI runs).
    const uploads = path.join(t.root, 'atom-full', 'uploads');
    await mkdir(uploads, { recursive: true });
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', uploads], { encoding: 'utf8' });
    if (mounted.status !== 0) {
      console.log(`Skipping the full-disk test: cannot mount a tmpfs (${(mounted.stderr || mounted.error?.message || '').trim()}); it needs t.root`);
      context.skip();
    }
    try {
      const dip = await generateDip(path.join(t.root, 'deposit'), { name: 'full', files: Array.from({ length: 40 }, (_, i) => ({ path: `big${i}.txt`, accessContent: `${i}`.padEnd(16_384, '.') })) });
      const before = await t.counts();
      const rec = recordingContext(t.settings({ atom_root_dir: path.join(t.root, 'atom-full') }));
      await expect(runJob({ id: 1, format: DIP_FORMAT, location: `file:///${dip.dipName}`, objectId: t.targets[7] }, { ...rec, ctx: { ...rec.ctx, atomSite: t.site } })).rejects.toThrow(
        /^The disk is full: cannot (copy .* into AtoM's uploads folder|create .*)$/,
      );
      expect(await t.counts()).toBe(before);
      expect(await t.tree(uploads)).toEqual([]);
      expect((await readdir(path.join(t.root, 'tmp'))).filter((f) => f.startsWith('atom-worker-uploads-'))).toEqual([]);
      await rm(dip.dipDir, { recursive: true, force: true });
    } finally {
      spawnSync('umount', [uploads]);
    }
  });

  it('the same AtoM job delivered again after its ingest committed (its worker died before WORK_COMPLETE): answered from the record, nothing twice', async () => {
    const dip = await generateDip(path.join(t.root, 'deposit'), { name: 'redelivered', files: [{ path: 'a.txt' }, { path: 'b.txt' }] });
    const rec = recordingContext(t.settings());
    const ctx = { ...rec.ctx, atomSite: t.site, atom: { jobId: 4242, setDownloadPath: () => undefined } };
    const payload = { id: 4242, format: DIP_FORMAT, location: `file:///${dip.dipName}`, objectId: t.targets[7] };
    const first = await runJob(payload, { ...rec, ctx });
    expect(first).toMatchObject({ output: 'database', descriptions: 2, digitalObjects: 2 });
    expect(existsSync(dip.dipDir)).toBe(false);
    const before = await t.counts();
    const again = await runJob(payload, { ...rec, ctx });
    expect(again).toEqual({ aipUuid: first.aipUuid, aipName: first.aipName, mode: 'flat', descriptions: 2, digitalObjects: 2, skipped: 0, warnings: [], output: 'database', redelivered: true });
    expect(await t.counts()).toBe(before);
  });

  it('the same DIP ingested by two jobs at once: one lands, the other adds nothing and removes no file the first one uses', async () => {
    // Two deposit folders holding the same DIP: two deliveries of one deposit, as after a cut-off worker.
    const copies = await Promise.all(['twice-a', 'twice-b'].map(async (folder) => {
      const deposit = path.join(t.root, folder);
      const dip = await generateDip(deposit, { name: 'twice', aipUuid: '00000000-0000-4000-8000-00000000aaaa', files: Array.from({ length: 300 }, (_, i) => ({ path: `t${i}.txt`, uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, accessContent: `twice ${i}\n` })) });
      return { deposit, dip };
    }));
    const outcomes = await Promise.allSettled(copies.map(({ deposit, dip }) => {
      const rec = recordingContext(t.settings({ sword_deposit_dir: deposit }));
      return runJob({ id: 1, format: DIP_FORMAT, location: `file:///${dip.dipName}`, objectId: t.targets[5] }, { ...rec, ctx: { ...rec.ctx, atomSite: t.site } });
    }));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(String(refused.reason.message)).toMatch(/AIP 00000000-0000-4000-8000-00000000aaaa (was ingested by another job meanwhile|is in AtoM already)/);
    expect(await t.db.query('SELECT id FROM aip WHERE uuid = ?', ['00000000-0000-4000-8000-00000000aaaa'])).toHaveLength(1);
    // Every master the committed rows name is on disk.
    const masters = await t.db.query<{ path: string; name: string }>(
      "SELECT d.path, d.name FROM digital_object d JOIN relation r ON r.object_id = d.object_id JOIN aip a ON a.id = r.subject_id WHERE a.uuid = ? AND d.usage_id = 140",
      ['00000000-0000-4000-8000-00000000aaaa'],
    );
    expect(masters).toHaveLength(300);
    for (const master of masters) expect(existsSync(path.join(t.root, 'atom', master.path, master.name))).toBe(true);
    expect(await nestedSetFaults(t.db)).toEqual([]);
  });

  it("an upload where AtoM saves it (/tmp/php_qubit_*) is ingested and removed; one outside /tmp and the deposit folder is refused", async () => {
    const staging = tempDir({}, 'dip-zip-');
    const dip = await generateDip(staging, { name: 'zipped', files: [{ path: 'a.txt' }] });
    const zip = path.join('/tmp', `php_qubit_${process.pid}_${Date.now()}`);
    await writeZip(zip, await zipFolder(dip.dipDir, `${dip.dipName}/`));
    const rec = recordingContext(t.settings());
    const result = await runJob({ id: 1, format: DIP_FORMAT, filename: zip, type: 'application/zip', objectId: t.targets[7] }, { ...rec, ctx: { ...rec.ctx, atomSite: t.site } });
    expect(result).toMatchObject({ aipUuid: dip.aipUuid, output: 'database', digitalObjects: 1, atom: { depositRemoved: true } });
    expect(existsSync(zip)).toBe(false);
    // Neither under /tmp nor in the deposit folder (a checkout may itself be under /tmp).
    const outside = path.join('/var/tmp', `atom-worker-upload-test-${process.pid}.zip`);
    await mkdir(path.dirname(outside), { recursive: true });
    await writeZip(outside, await zipFolder(dip.dipDir, `${dip.dipName}/`));
    await expect(runJob({ id: 1, format: DIP_FORMAT, filename: outside, objectId: t.targets[7] }, { ...rec, ctx: { ...rec.ctx, atomSite: t.site } })).rejects.toThrow(/outside/);
    await rm(staging, { recursive: true, force: true });
    await rm(outside, { force: true });
  });
});
