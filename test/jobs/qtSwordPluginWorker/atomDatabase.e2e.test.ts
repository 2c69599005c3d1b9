// The DIP into AtoM's database as a site runs it: `atom-worker run` with AtoM's database and root
// configured, the job submitted in the background with its AtoM job row, as AtoM's deposit action
// does; then a worker SIGKILLed mid-ingest, whose job gearmand hands to the next worker.
import type { ChildProcess } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { atomJobPrefix } from '../../../src/config/prefix.js';
import { GearmanClient } from '../../../src/gearman/client.js';
import { addDescription, nestedSetFaults, seedAtomSite } from '../../harness/atomSite.js';
import { type Gearmand, startCliWorker, startGearmand } from '../../harness/gearmand.js';
import { insertAtomJob, type Mariadb, startMariadb } from '../../harness/mariadb.js';
import { isFullyRegistered, type SpawnedWorker, spawnCli, tempDir } from '../../harness/worker.js';
import { generateDip } from './dipGenerator.js';
import { atomSiteMissing } from './atomSiteFixture.js';
import { fixtureDip } from './fixtureDip.js';
import { DIP_FORMAT } from './helpers.js';

const missing = atomSiteMissing;
if (missing) console.log(`Skipping the DIP-into-AtoM worker tests: ${missing}`);

describe.skipIf(missing !== undefined)("atom-worker run: DIP ingest into AtoM's database", () => {
  let db: Mariadb;
  let gearmand: Gearmand;
  let client: GearmanClient;
  let indexWorker: ChildProcess;
  let root: string;
  let config: string;
  let prefix: string;
  let target: number;
  const workers: SpawnedWorker[] = [];

  beforeAll(async () => {
    [db, gearmand] = await Promise.all([startMariadb(), startGearmand()]);
    await seedAtomSite(db);
    target = await addDescription(db, 1, 'Fonds', 'fonds');
    await addDescription(db, 1, 'Another fonds', 'another-fonds');
    root = tempDir({}, 'atom-site-');
    const atomRoot = path.join(root, 'atom');
    prefix = atomJobPrefix(atomRoot);
    config = path.join(root, 'gearman.yml');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      config,
      `all:\n  servers: { default: "${gearmand.address}" }\n  atom_worker:\n    atom_root_dir: ${atomRoot}\n    sword_deposit_dir: ${path.join(root, 'deposit')}\n    temp_dir: ${path.join(root, 'tmp')}\n` +
        `    atom_database: { host: 127.0.0.1, port: ${db.port}, name: atom, user: ${db.user}, password: "${db.password}" }\n`,
    );
    client = new GearmanClient([{ host: gearmand.host, port: gearmand.port }]);
    // AtoM's own worker serves the index job; here one that takes it and does nothing.
    indexWorker = await startCliWorker(gearmand.port, `${prefix}arUpdateEsIoDocumentsJob`, ['true']);
  }, 120_000);
  afterEach(async () => {
    for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.kill('SIGKILL');
    await Promise.all(workers.splice(0).map((worker) => worker.exited));
  });
  afterAll(async () => {
    indexWorker?.kill('SIGKILL');
    client?.close();
    await Promise.all([db?.stop(), gearmand?.stop()]);
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function startWorker(): Promise<SpawnedWorker> {
    const dir = tempDir();
    const worker = spawnCli(['run', '--config', config, '--log-format', 'json', '--journal', path.join(dir, 'journal.sqlite'), '--run-dir', path.join(dir, 'run')], { cwd: dir });
    workers.push(worker);
    await worker.waitForLog(isFullyRegistered);
    return worker;
  }

  /** What AtoM's deposit action does: a job row, then a background job with the target as objectId. */
  async function submitDeposit(dipName: string): Promise<number> {
    const id = await insertAtomJob(db, { name: 'qtSwordPluginWorker', objectId: target });
    await client.submitBackground(`${prefix}qtSwordPluginWorker`, JSON.stringify({ format: DIP_FORMAT, location: `file:///${dipName}`, objectId: target, name: 'qtSwordPluginWorker', id }));
    return id;
  }

  /** The row changes in another process: ask until it has ended (an event we cannot subscribe to). */
  async function ended(id: number, withinMs = 60_000): Promise<{ status_id: number; output: string }> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const [row] = await db.query<{ status_id: number; output: string | null }>('SELECT status_id, output FROM job WHERE id = ?', [id]);
      if (row!.status_id !== 183 || Date.now() > deadline) return { status_id: row!.status_id, output: row!.output ?? '' };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Every file under uploads/ has its digital_object row, and every row its file. */
  async function uploadsMatchRows(): Promise<{ files: string[]; rows: string[] }> {
    const uploads = path.join(root, 'atom', 'uploads');
    const entries = await readdir(uploads, { recursive: true, withFileTypes: true }).catch(() => []);
    const files = entries.filter((e) => e.isFile()).map((e) => path.relative(path.join(root, 'atom'), path.join(e.parentPath, e.name))).sort();
    const rows = (await db.query<{ file: string }>("SELECT CONCAT(SUBSTR(path, 2), name) AS file FROM digital_object")).map((r) => r.file).sort();
    return { files, rows };
  }

  it("a deposit lands under its target, the job row says so, and AtoM's index job is queued", async () => {
    await startWorker();
    const dip = await fixtureDip(path.join(root, 'deposit'), '02_flat_premis3_with_preservation.xml', { images: true });
    const id = await submitDeposit(dip.dipName);
    const row = await ended(id);
    expect(row.status_id).toBe(184);
    expect(row.output).toMatch(/DIP ingested into AtoM: 1 descriptions and 1 digital objects under fonds \(evelyns-photo-jpg\); search index update queued as job \d+ \(arUpdateEsIoDocumentsJob\)/);
    expect(row.output).toContain('Job finished.');
    const titles = await db.query("SELECT i.title FROM information_object io JOIN information_object_i18n i ON i.id = io.id WHERE io.parent_id = ?", [target]);
    expect(titles).toEqual([{ title: "evelyn's photo.jpg" }]);
    const sync = await uploadsMatchRows();
    expect(sync.files).toHaveLength(3);
    expect(sync.files).toEqual(sync.rows);
    expect(await nestedSetFaults(db)).toEqual([]);
  });

  it('a worker SIGKILLed while it copies the files: nothing is committed, and the next worker removes its files and ingests the DIP', async () => {
    const first = await startWorker();
    const dip = await generateDip(path.join(root, 'deposit'), { name: 'killed', files: Array.from({ length: 3000 }, (_, i) => ({ path: `f${i}.txt`, accessContent: `killed ${i}\n` })) });
    const before = (await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM information_object'))[0]!.n;
    const id = await submitDeposit(dip.dipName);
    // Wait for its files to appear under uploads/, then kill it (a condition in another process: polled).
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
      const { files, rows } = await uploadsMatchRows();
      if (files.length > rows.length + 50) break;
    }
    first.kill('SIGKILL');
    await first.exited;
    const orphaned = await uploadsMatchRows();
    expect(orphaned.files.length).toBeGreaterThan(orphaned.rows.length);
    expect((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM information_object'))[0]!.n).toBe(before);

    // gearmand gives the job to the next worker: it sweeps what the killed one left, then ingests.
    await startWorker();
    const row = await ended(id, 120_000);
    expect(row.status_id).toBe(184);
    expect((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM information_object'))[0]!.n).toBe(before + 3000);
    const sync = await uploadsMatchRows();
    expect(sync.files).toEqual(sync.rows);
    expect((await readdir(path.join(root, 'tmp'))).filter((f) => f.startsWith('atom-worker-uploads-'))).toEqual([]);
    expect(await nestedSetFaults(db)).toEqual([]);
  }, 180_000);
});
