// The DIP ingest end to end, as AtoM drives it: a real gearmand, the real worker process
// (`bin/atom-worker run`, built by `npm test`), and AtoM-shaped payloads submitted with the
// project's Gearman client. Checks results, WORK_STATUS progress, failure reasons
// (WORK_WARNING + WORK_FAIL), that the worker keeps serving after hostile input, what is written
// where, and the worker's peak RSS on a 10,000-file DIP, read from /proc from the outside.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanClient } from '../../../src/gearman/client.js';
import type { JobOutcome } from '../../../src/gearman/clientTypes.js';
import { type Gearmand, startGearmand } from '../../harness/gearmand.js';
import { type SpawnedWorker, isConnected, repoRoot, spawnCli, tempDir } from '../../harness/worker.js';
import { type GenFile, generateDip } from './dipGenerator.js';
import { DIP_FORMAT, csvRows, listTree } from './helpers.js';
import { writeZip, zipFolder } from './zipper.js';

const FN = 'qtSwordPluginWorker';
const PEAK_RSS_LIMIT_KB = 150 * 1024;

/** Peak and current resident set size (kB) of a process, from /proc/<pid>/status. */
function memoryKb(pid: number): { hwm: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { hwm: field('VmHWM'), rss: field('VmRSS') };
}

interface Submitted {
  outcome: JobOutcome;
  status: [number, number][];
  warnings: string[];
}

let gearmand: Gearmand;
let client: GearmanClient;
let worker: SpawnedWorker;
let root: string;
let deposit: string;
let output: string;
let temp: string;

async function submit(payload: Record<string, unknown>): Promise<Submitted> {
  const status: [number, number][] = [];
  const warnings: string[] = [];
  const outcome = await client.submit(FN, JSON.stringify(payload), {
    onStatus: (n, d) => status.push([n, d]),
    onWarning: (data) => warnings.push(data.toString('utf8')),
  });
  return { outcome, status, warnings };
}

interface DipResultJson {
  aipUuid: string;
  aipName: string;
  mode: string;
  descriptions: number;
  digitalObjects: number;
  skipped: number;
  warnings: string[];
  outputDir: string;
}

function resultOf(s: Submitted): DipResultJson {
  if (s.outcome.status !== 'complete') {
    throw new Error(`job ended with ${s.outcome.status}; warnings: ${s.warnings.join(' | ')}`);
  }
  return JSON.parse(s.outcome.result.toString('utf8')) as DipResultJson;
}

const byLocation = (dipName: string) => ({
  id: 42,
  name: 'Target fonds',
  format: DIP_FORMAT,
  location: `file:///${dipName}`,
  objectId: 7,
  parentSlug: 'target-fonds',
});

/** Everything under the sandbox but the worker's own places (output, temp, its var/ state). */
async function outsideTree(): Promise<string[]> {
  const all = await listTree(root);
  return all.filter((p) => !/^(output|tmp|var)(\/|$)/.test(p));
}

beforeAll(async () => {
  if (!existsSync(path.join(repoRoot, 'dist', 'jobs', FN, 'index.js'))) {
    throw new Error('the worker is not built: run `npx tsc -p .` (npm test builds before vitest)');
  }
  root = tempDir({}, 'dip-e2e-');
  deposit = path.join(root, 'deposit');
  output = path.join(root, 'output');
  temp = path.join(root, 'tmp');
  await mkdir(deposit);
  await mkdir(temp);
  const config = path.join(root, 'gearman.yml');
  await writeFile(
    config,
    [
      'all:',
      '  atom_worker:',
      `    sword_deposit_dir: ${JSON.stringify(deposit)}`,
      `    dip_output_dir: ${JSON.stringify(output)}`,
      `    temp_dir: ${JSON.stringify(temp)}`,
      '',
    ].join('\n'),
  );
  gearmand = await startGearmand();
  // The working directory is the sandbox, so any state the worker keeps by default stays inside.
  worker = spawnCli(['run', '--servers', gearmand.address, '--config', config, '--log-format', 'json', '--abilities', FN], { cwd: root });
  await worker.waitForLog(isConnected);
  client = new GearmanClient([{ host: gearmand.host, port: gearmand.port }]);
});

afterAll(async () => {
  client?.close();
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) {
    worker.kill('SIGKILL');
    await worker.exited;
  }
  await gearmand?.stop();
});

describe('qtSwordPluginWorker through gearmand', () => {
  let dipName = '';
  let aipUuid = '';

  it('ingests a generated DIP: result fields, progress up to the total, the package on disk', async () => {
    const files: GenFile[] = [
      { path: 'photos/cat.jpg', dmd: [{ dc: { title: 'A cat', creator: 'Ann', date: '2001-02-03' } }], preservation: true },
      { path: 'photos/dog.png' },
      { path: 'docs/report.pdf', dmd: [{ dc: { title: 'Annual report', subject: ['Reports', 'Finance'] } }] },
      { path: 'docs/missing.txt', access: false },
    ];
    const dip = await generateDip(deposit, { name: 'e2e', files, objectsDmd: [{ dc: { title: 'E2E accession' } }] });
    dipName = dip.dipName;
    aipUuid = dip.aipUuid;
    const before = await outsideTree();

    const s = await submit(byLocation(dip.dipName));
    const result = resultOf(s);
    expect(result).toEqual({
      aipUuid: dip.aipUuid,
      aipName: 'e2e',
      mode: 'flat',
      descriptions: 4,
      digitalObjects: 3,
      skipped: 1,
      warnings: [`Skipped original ${dip.files[3]?.fileId} (${dip.files[3]?.uuid}): no access copy in objects/`],
      output: 'csv',
      outputDir: path.join(output, dip.aipUuid),
    });
    // The skip was also sent as a WORK_WARNING while the job ran.
    expect(s.warnings).toEqual(result.warnings);
    // WORK_STATUS: numerator never goes back, denominator is the total, and it reaches it.
    expect(s.status.length).toBeGreaterThan(0);
    expect(s.status.at(-1)).toEqual([4, 4]);
    for (const [i, [n, d]] of s.status.entries()) {
      expect(d).toBe(4);
      expect(n).toBeGreaterThanOrEqual(s.status[i - 1]?.[0] ?? 0);
    }

    const rows = csvRows(await readFile(path.join(result.outputDir, 'descriptions.csv'), 'utf8'));
    expect(rows.map((r) => [r.title, r.levelOfDescription])).toEqual([
      ['E2E accession', 'File'],
      // Flat mode: sorted by file name (cat.jpg, dog.png, report.pdf), titled by DC when there is one.
      ['A cat', 'Item'],
      ['dog.png', 'Item'],
      ['Annual report', 'Item'],
    ]);
    expect(rows[0]?.qubitParentSlug).toBe('target-fonds');
    expect(rows.slice(1).every((r) => r.parentId === rows[0]?.legacyId && r.qubitParentSlug === '')).toBe(true);
    expect(rows[1]).toMatchObject({ eventActors: 'Ann', eventTypes: 'Creation', eventDates: '2001-02-03' });
    expect(rows[3]?.subjectAccessPoints).toBe('Reports|Finance');
    for (const row of rows.slice(1)) {
      expect(row.digitalObjectPath.startsWith(`${result.outputDir}/objects/`)).toBe(true);
      expect(existsSync(row.digitalObjectPath)).toBe(true);
    }
    expect((await readdir(path.join(result.outputDir, 'objects'))).sort()).toEqual(
      dip.files.slice(0, 3).map((f) => f.accessName).sort(),
    );
    // Written only into dip_output_dir; the deposit and the rest of the sandbox are untouched.
    expect(await outsideTree()).toEqual(before);
    expect(await readdir(output)).toEqual([dip.aipUuid]);
    expect(await readdir(temp)).toEqual([]);
  });

  it('gives byte-identical output when the same DIP comes twice, with no duplicates', async () => {
    const packageDir = path.join(output, aipUuid);
    const snapshot = async () => ({
      csv: await readFile(path.join(packageDir, 'descriptions.csv'), 'utf8'),
      manifest: await readFile(path.join(packageDir, 'manifest.json'), 'utf8'),
      tree: await listTree(packageDir),
    });
    const first = await snapshot();
    const again = resultOf(await submit(byLocation(dipName)));
    expect(again.outputDir).toBe(packageDir);
    const second = await snapshot();
    expect(second).toEqual(first);
    const legacyIds = csvRows(second.csv).map((r) => r.legacyId);
    expect(new Set(legacyIds).size).toBe(legacyIds.length);
    // One package per AIP, no leftovers of the swap.
    expect(await readdir(output)).toEqual([aipUuid]);
    expect(await readdir(temp)).toEqual([]);
  });

  it('fails hostile inputs with a reason and keeps serving the next valid job', async () => {
    const secret = path.join(root, 'secret');
    await mkdir(secret);
    await writeFile(path.join(secret, 'TOP-SECRET.txt'), 'TOP-SECRET');
    const outsideDip = await generateDip(secret, { name: 'outside', files: [{ path: 'x.jpg' }] });
    await symlink(outsideDip.dipDir, path.join(deposit, 'escape-link'));

    const zipped = await generateDip(path.join(root, 'staging'), { name: 'zipped', files: [{ path: 'z.jpg' }] });
    const zip = await zipFolder(zipped.dipDir, `${zipped.dipName}/`);
    await writeZip(path.join(deposit, 'upload.zip'), zip);
    const actualMd5 = createHash('md5').update(zip).digest('hex');

    const xxe = await generateDip(deposit, {
      name: 'xxe',
      files: [{ path: 'a.jpg', dmd: [{ dc: { title: 'placeholder' } }] }],
      doctype: `<!DOCTYPE mets:mets [<!ENTITY xxe SYSTEM "file://${path.join(secret, 'TOP-SECRET.txt')}">]>`,
      rawTitle: '&xxe;',
    });
    const before = await outsideTree();
    const packagesBefore = await readdir(output);

    const hostile: [string, Record<string, unknown>, string][] = [
      ['location outside the deposit folder', { ...byLocation('..') }, 'does not name a package inside the deposit folder'],
      ['DIP symlink leading out of the deposit folder', byLocation('escape-link'), 'outside the deposit folder'],
      [
        'zip with a wrong checksum',
        { id: '43', name: 'T', format: DIP_FORMAT, filename: 'upload.zip', checksum_md5: 'd41d8cd98f00b204e9800998ecf8427e' },
        `Checksum mismatch for upload.zip: expected MD5 d41d8cd98f00b204e9800998ecf8427e, got ${actualMd5}`,
      ],
      [
        'METS with an external entity (XXE)',
        byLocation(xxe.dipName),
        `Refusing METS.${xxe.aipUuid}.xml: its DOCTYPE declares entities (possible XXE or entity expansion attack)`,
      ],
    ];
    for (const [what, payload, reason] of hostile) {
      const s = await submit(payload);
      expect(s.outcome.status, what).toBe('fail');
      expect(s.warnings.at(-1), what).toContain(reason);
      // The worker is still there and serves the next valid job.
      const ok = resultOf(await submit(byLocation(dipName)));
      expect(ok.aipUuid, what).toBe(aipUuid);
    }

    // The right zip still goes through, extracted into temp_dir and cleaned up afterwards.
    const good = resultOf(
      await submit({ id: '44', name: 'T', format: DIP_FORMAT, filename: 'upload.zip', checksum_md5: actualMd5 }),
    );
    expect(good.aipUuid).toBe(zipped.aipUuid);

    // Nothing was written outside dip_output_dir and temp_dir, nothing leaked, temp is empty.
    expect(await outsideTree()).toEqual(before);
    expect((await readdir(output)).sort()).toEqual([...packagesBefore, zipped.aipUuid].sort());
    expect(await readdir(temp)).toEqual([]);
    for (const file of await listTree(output)) {
      if (!file.endsWith('.csv') && !file.endsWith('.json')) continue;
      expect(await readFile(path.join(output, file), 'utf8')).not.toContain('TOP-SECRET');
    }
    expect(worker.child.exitCode).toBeNull();
  });

  it(
    'ingests a generated 10,000-file DIP with the worker peak RSS under 150 MB, reporting progress',
    async () => {
      const count = 10_000;
      const files: GenFile[] = Array.from({ length: count }, (_, i) => ({
        path: `box-${String(i % 100).padStart(3, '0')}/file-${String(i).padStart(5, '0')}.tif`,
        uuid: `0000e2e0-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
        fitsPadding: 1500,
        preservation: i % 10 === 0,
        dmd: i % 50 === 0 ? [{ dc: { title: `Titled ${i}`, subject: ['a', 'b'] } }] : undefined,
      }));
      const dip = await generateDip(deposit, { name: 'big', files, objectsDmd: [{ dc: { title: 'Big accession' } }] });
      const startKb = memoryKb(worker.pid);

      const s = await submit(byLocation(dip.dipName));
      const result = resultOf(s);
      const { hwm } = memoryKb(worker.pid);
      console.log(
        `10k DIP through gearmand: worker VmHWM ${(hwm / 1024).toFixed(0)} MiB (RSS before the job ${(startKb.rss / 1024).toFixed(0)} MiB), ${s.status.length} WORK_STATUS packets`,
      );

      expect(result).toMatchObject({ mode: 'flat', descriptions: count + 1, digitalObjects: count, skipped: 0 });
      expect(s.status.length).toBeGreaterThanOrEqual(10);
      expect(s.status.at(-1)).toEqual([count, count]);
      // Reported along the way, not only at the end.
      expect(s.status.filter(([n]) => n > 0 && n < count).length).toBeGreaterThanOrEqual(5);
      for (const [i, [n, d]] of s.status.entries()) {
        expect(d).toBe(count);
        expect(n).toBeGreaterThanOrEqual(s.status[i - 1]?.[0] ?? 0);
      }
      expect(hwm).toBeLessThan(PEAK_RSS_LIMIT_KB);
      expect(await readdir(path.join(result.outputDir, 'objects'))).toHaveLength(count);
    },
    120_000,
  );

  it('stops on SIGTERM with exit code 0', async () => {
    worker.kill('SIGTERM');
    const { code, signal } = await worker.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});
