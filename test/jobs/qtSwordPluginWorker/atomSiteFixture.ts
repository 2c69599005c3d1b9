// The AtoM site the DIP-into-database tests share: a private MariaDB with AtoM's real schema and
// fixed terms, eight targets with siblings under a collection that has a sibling too, gearmand with
// a `gearman -w` standing in for AtoM's index worker (it writes down each payload), ctx.atomSite,
// and the checks every ingest must pass.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { type AtomSiteService, openAtomSite } from '../../../src/atom/site.js';
import { addDescription, nestedSetFaults, seedAtomSite } from '../../harness/atomSite.js';
import { type Gearmand, startCliWorker, startGearmand } from '../../harness/gearmand.js';
import { atomFixtures, type Mariadb, startMariadb } from '../../harness/mariadb.js';
import { tempDir } from '../../harness/worker.js';
import { fixtureDip, metsFixtures } from './fixtureDip.js';
import { DIP_FORMAT, recordingContext, runJob } from './helpers.js';

const fixtures = atomFixtures();
/** Why these tests cannot run here, or undefined. */
export const atomSiteMissing = 'missing' in fixtures ? fixtures.missing : !existsSync(metsFixtures) ? `${metsFixtures} not found` : undefined;

export const INDEX_JOB = 'arUpdateEsIoDocumentsJob';

type DipResult = Awaited<ReturnType<typeof runJob>>;
interface DescriptionRow { id: number; parent_id: number; title: string; slug: string; level: string | null; status: number; identifier: string | null }

export interface AtomSiteFixture {
  db: Mariadb;
  site: AtomSiteService;
  root: string;
  indexLog: string;
  readonly targets: number[];
  settings(extra?: Record<string, unknown>): Record<string, unknown>;
  deposit(file: string, target: number, extra?: Record<string, unknown>): Promise<{ dip: Awaited<ReturnType<typeof fixtureDip>>; rec: ReturnType<typeof recordingContext>; result: DipResult }>;
  under(target: number): Promise<DescriptionRow[]>;
  expectIngested(target: number, dip: { aipUuid: string; originals: { uuid: string }[] }, result: DipResult): Promise<{ rows: DescriptionRow[]; masters: { id: number; object_id: number; path: string; name: string; checksum: string; byte_size: number; checksum_type: string }[]; aipId: number }>;
  tree(dir: string): Promise<string[]>;
  counts(): Promise<number>;
}

/** Call inside a describe: the site starts before its tests and stops after them. */
export function useAtomSite(): AtomSiteFixture {
  let gearmand: Gearmand;
  let indexWorker: ChildProcess;
  const targets: number[] = [];
  const t = { targets } as AtomSiteFixture;

  beforeAll(async () => {
    let db: Mariadb;
    [db, gearmand] = await Promise.all([startMariadb(), startGearmand()]);
    t.db = db;
    await seedAtomSite(db);
    // Targets with siblings on both sides, under a collection that has a sibling too.
    const collection = await addDescription(db, 1, 'Collection', 'collection');
    await addDescription(db, 1, 'Other collection', 'other-collection');
    for (let i = 1; i <= 8; i += 1) targets.push(await addDescription(db, collection, `Target ${i}`, `target-${i}`));
    const root = (t.root = tempDir({}, 'atom-root-'));
    const indexLog = (t.indexLog = path.join(root, 'index-jobs.log'));
    // AtoM's PHP worker, as far as this test needs it: it serves the index job and writes down each payload.
    indexWorker = await startCliWorker(gearmand.port, INDEX_JOB, ['sh', '-c', `cat >> ${indexLog}; echo >> ${indexLog}`]);
    t.site = openAtomSite({
      database: { host: db.host, port: db.port, database: db.database, user: db.user, password: db.password, charset: 'utf8mb4', source: 'test' },
      connections: 2,
      servers: [{ host: '127.0.0.1', port: gearmand.port }],
      prefix: '',
    });
  }, 120_000);
  afterAll(async () => {
    indexWorker?.kill('SIGKILL');
    await t.site?.close();
    await Promise.all([t.db?.stop(), gearmand?.stop()]);
    if (t.root) await rm(t.root, { recursive: true, force: true });
  });

  t.settings = function (extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { sword_deposit_dir: path.join(t.root, 'deposit'), temp_dir: path.join(t.root, 'tmp'), dip_output_dir: path.join(t.root, 'csv'), atom_root_dir: path.join(t.root, 'atom'), ...extra };
  }

  t.deposit = async function (file: string, target: number, extra: Record<string, unknown> = {}) {
    const dip = await fixtureDip(path.join(t.root, 'deposit'), file, { images: true });
    const rec = recordingContext(t.settings(extra));
    const ctx = { ...rec.ctx, atomSite: t.site };
    const result = await runJob({ id: 1, name: 'qtSwordPluginWorker', format: DIP_FORMAT, location: `file:///${dip.dipName}`, objectId: target }, { ...rec, ctx });
    return { dip, rec, result };
  }

  t.under = async function (target: number) {
    const [span] = await t.db.query<{ lft: number; rgt: number }>('SELECT lft, rgt FROM information_object WHERE id = ?', [target]);
    return t.db.query<{ id: number; parent_id: number; title: string; slug: string; level: string | null; status: number; identifier: string | null }>(
      `SELECT io.id, io.parent_id, i.title, s.slug, ln.name AS level, st.status_id AS status, io.identifier
         FROM information_object io JOIN information_object_i18n i ON i.id = io.id AND i.culture = 'en'
         JOIN slug s ON s.object_id = io.id LEFT JOIN term_i18n ln ON ln.id = io.level_of_description_id AND ln.culture = 'en'
         LEFT JOIN status st ON st.object_id = io.id AND st.type_id = 158
        WHERE io.lft > ? AND io.rgt < ? ORDER BY io.lft`,
      [span!.lft, span!.rgt],
    );
  }

  /** What every ingest must leave, whatever the METS: checked against the rows and files. */
  t.expectIngested = async function (target: number, dip: { aipUuid: string; originals: { uuid: string }[] }, result: Awaited<ReturnType<typeof runJob>>) {
    expect(result.output).toBe('database');
    const rows = await t.under(target);
    expect(rows).toHaveLength(result.descriptions);
    for (const row of rows) {
      expect(row.title).not.toBe('');
      expect(row.slug).toMatch(/^[0-9a-z]+(-[0-9a-z]+)*$/);
      expect(row.level).not.toBeNull();
      expect(row.status).toBe(159);
    }
    const [aip] = await t.db.query<{ id: number; part_of: number; digital_object_count: number; filename: string }>('SELECT id, part_of, digital_object_count, filename FROM aip WHERE uuid = ?', [dip.aipUuid]);
    expect(aip).toMatchObject({ part_of: target, digital_object_count: dip.originals.length, filename: result.aipName });
    const ids = rows.map((row) => row.id);
    const masters = await t.db.query<{ id: number; object_id: number; path: string; name: string; checksum: string; byte_size: number; checksum_type: string }>(
      `SELECT id, object_id, path, name, checksum, byte_size, checksum_type FROM digital_object WHERE usage_id = 140 AND object_id IN (${ids.join(',')})`,
    );
    expect(masters).toHaveLength(result.digitalObjects);
    expect(new Set(masters.map((m) => m.object_id)).size).toBe(masters.length);
    for (const master of masters) {
      expect(master.path).toBe(`/uploads/r/null/${master.checksum.slice(0, 1)}/${master.checksum.slice(1, 2)}/${master.checksum.slice(2, 3)}/${master.checksum}/`);
      const bytes = await readFile(path.join(t.root, 'atom', master.path, master.name));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(master.checksum);
      expect(bytes.length).toBe(Number(master.byte_size));
      expect(master.checksum_type).toBe('sha256');
    }
    const related = await t.db.query<{ object_id: number }>('SELECT object_id FROM relation WHERE subject_id = ? AND type_id = 178', [aip!.id]);
    for (const master of masters) expect(related.map((r) => r.object_id)).toContain(master.object_id);
    const uuids = await t.db.query<{ value: string }>(
      `SELECT v.value FROM property p JOIN property_i18n v ON v.id = p.id WHERE p.scope = 'Archivematica AIP' AND p.name = 'objectUUID' AND p.object_id IN (${ids.join(',')})`,
    );
    expect(uuids.map((u) => u.value).sort()).toEqual(dip.originals.map((o) => o.uuid).sort().slice(0, result.digitalObjects).sort());
    expect(await nestedSetFaults(t.db)).toEqual([]);
    const [job] = await t.db.query<{ id: number; object_id: number; status_id: number }>('SELECT id, object_id, status_id FROM job WHERE name = ? ORDER BY id DESC LIMIT 1', [INDEX_JOB]);
    expect(job).toMatchObject({ id: result.atom?.indexJobId, object_id: target, status_id: 183 });
    return { rows, masters, aipId: aip!.id };
  }
  t.tree = async function (dir: string): Promise<string[]> {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
    return entries.map((e) => path.join(e.parentPath, e.name)).sort();
  }
  t.counts = async () => (await t.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM object'))[0]!.n;
  return t;
}
