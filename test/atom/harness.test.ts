// The MariaDB harness itself: a private server with AtoM's real schema, its fixed terms, and the atom account.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atomFixtures, insertAtomJob, loadTaxonomyTerms, type Mariadb, startMariadb } from '../harness/mariadb.js';

const fixtures = atomFixtures();
if ('missing' in fixtures) console.warn(`skipping the AtoM database harness tests: ${fixtures.missing}`);

type YmlEntry = { id?: number; name?: Record<string, string> };

/** Read taxonomyTerms.yml here rather than through the harness, so the names check the harness's loading. */
function ymlEntries(section: 'QubitTerm' | 'QubitTaxonomy'): YmlEntry[] {
  if ('missing' in fixtures) return [];
  const data = yaml.load(readFileSync(path.join(fixtures.dir, 'taxonomyTerms.yml'), 'utf8')) as Record<string, Record<string, YmlEntry>>;
  return Object.values(data[section] ?? {});
}

function ymlTermName(id: number): string {
  const name = ymlEntries('QubitTerm').find((entry) => entry.id === id)?.name?.en;
  if (name === undefined) throw new Error(`taxonomyTerms.yml has no English name for term ${id}`);
  return name;
}

describe.skipIf('missing' in fixtures)("a private MariaDB with AtoM's schema", () => {
  let db: Mariadb;

  beforeAll(async () => {
    const started = Date.now();
    db = await startMariadb();
    console.info(`MariaDB with AtoM's schema ready in ${Date.now() - started} ms`);
  }, 60_000);

  afterAll(async () => {
    await db?.stop();
  });

  it("has AtoM's tables, the job table among them", async () => {
    const tables = await db.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'atom'");
    expect(tables.map((table) => table.name)).toContain('job');
    expect(tables.length).toBe(63);
  });

  it('has the job status terms and the job error note type, named as in taxonomyTerms.yml', async () => {
    const rows = await db.query<{ id: number; name: string; taxonomy_id: number; class_name: string }>(
      "SELECT term.id, term_i18n.name, term.taxonomy_id, object.class_name FROM term JOIN term_i18n ON term_i18n.id = term.id AND term_i18n.culture = 'en' JOIN object ON object.id = term.id WHERE term.id IN (183, 184, 185, 197) ORDER BY term.id",
    );
    expect(rows.map((row) => [row.id, row.name])).toEqual([183, 184, 185, 197].map((id) => [id, ymlTermName(id)]));
    expect(new Set(rows.map((row) => row.class_name))).toEqual(new Set(['QubitTerm']));
    const [taxonomy] = await db.query<{ class_name: string }>('SELECT object.class_name FROM taxonomy JOIN object ON object.id = taxonomy.id WHERE taxonomy.id = ?', [rows[0]!.taxonomy_id]);
    expect(taxonomy?.class_name).toBe('QubitTaxonomy');
  });

  it('inserts a job as QubitJob::runJob does: an object row, then a job in progress', async () => {
    const id = await insertAtomJob(db, { name: 'arFindingAidJob' });
    const [job] = await db.query<{ name: string; status_id: number; user_id: number | null; class_name: string }>(
      'SELECT job.name, job.status_id, job.user_id, object.class_name FROM job JOIN object ON object.id = job.id WHERE job.id = ?',
      [id],
    );
    expect(job).toEqual({ name: 'arFindingAidJob', status_id: 183, user_id: null, class_name: 'QubitJob' });
    expect(await insertAtomJob(db, { name: 'second', objectId: id })).toBeGreaterThan(id);
  });

  it('loads a whole taxonomy, giving the terms without a fixed id fresh ones', async () => {
    const levels = await loadTaxonomyTerms(db, 34);
    expect(levels.map((level) => level.name)).toContain('Fonds');
    const fixedIds = new Set(ymlEntries('QubitTerm').map((entry) => entry.id));
    const fonds = levels.find((level) => level.name === 'Fonds')!;
    expect(fixedIds.has(fonds.id)).toBe(false);
    const [row] = await db.query<{ name: string }>("SELECT name FROM term_i18n WHERE id = ? AND culture = 'en'", [fonds.id]);
    expect(row?.name).toBe('Fonds');
  });

  it('lets the atom account in over TCP on 127.0.0.1 with its password', async () => {
    const connection = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
    try {
      const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS user, COUNT(*) AS jobs FROM job');
      expect(rows[0]).toMatchObject({ user: 'atom@127.0.0.1' });
    } finally {
      await connection.end();
    }
  });

  it('pauses (SIGSTOP) and resumes (SIGCONT): a query sent while paused is answered only after resume', async () => {
    db.pause();
    let answered = false;
    const query = db.query<{ one: number }>('SELECT 1 AS one').then((rows) => {
      answered = true;
      return rows;
    });
    try {
      // Bounded wait, only to show the answer has not come.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(answered).toBe(false);
    } finally {
      db.resume();
    }
    expect(await query).toEqual([{ one: 1 }]);
  });
});
