// `atom-worker check` on an AtoM site: AtoM's database found through <atom_root_dir>/config/config.php
// (a real MariaDB with AtoM's schema), and who serves each AtoM job type on each job server, with a
// warning for each type nobody serves on the last server, the one AtoM asks.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATOM_JOB_TYPES } from '../../src/atom/jobTypes.js';
import { trackChild } from '../harness/cleanup.js';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';
import { atomFixtures, type Mariadb, startMariadb } from '../harness/mariadb.js';
import { isFullyRegistered, type SpawnedWorker, spawnCli, tempDir } from '../harness/worker.js';
import { cli } from '../ops/helpers.js';

const fixtures = atomFixtures();
if ('missing' in fixtures) console.warn(`skipping the AtoM check tests: ${fixtures.missing}`);

/** AtoM's config/config.php as its installer writes it (var_export). */
function configPhp(port: number, user: string, password: string): string {
  return `<?php\n\nreturn array (\n  'all' => \n  array (\n    'propel' => \n    array (\n      'class' => 'sfPropelDatabase',\n      'param' => \n      array (\n        'encoding' => 'utf8mb4',\n        'persistent' => true,\n        'pooling' => true,\n        'dsn' => 'mysql:dbname=atom;host=127.0.0.1;port=${port}',\n        'username' => '${user}',\n        'password' => '${password}',\n      ),\n    ),\n  ),\n);\n`;
}

describe.skipIf('missing' in fixtures)('atom-worker check on an AtoM site', () => {
  let db: Mariadb;
  let first: Gearmand;
  let last: Gearmand;
  let atomRoot: string;
  let prefix: string;

  beforeAll(async () => {
    [db, first, last] = await Promise.all([startMariadb(), startGearmand(), startGearmand()]);
    atomRoot = tempDir({
      'config/config.php': configPhp(db.port, db.user, db.password),
      'config/gearman.yml': `all:\n  servers:\n    one: "${first.address}"\n    two: "${last.address}"\n  atom_worker:\n    atom_root_dir: ROOT\n    journal_path: var/j.sqlite\n`,
    });
    // AtoM's root is the folder itself: write its path into the config now that it exists.
    const { writeFileSync, readFileSync } = await import('node:fs');
    const config = path.join(atomRoot, 'config', 'gearman.yml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('ROOT', atomRoot));
    prefix = `${createHash('md5').update(atomRoot).digest('hex')}-`;
  }, 60_000);
  afterAll(async () => {
    await Promise.all([db?.stop(), first?.stop(), last?.stop()]);
  });

  const check = (args: readonly string[] = []) => cli(['check', '--config', path.join(atomRoot, 'config', 'gearman.yml'), ...args], { cwd: atomRoot });

  it('reports the database from config.php and names every AtoM job type nobody serves on the last server', async () => {
    // AtoM's PHP worker stands in as libgearman's worker, serving arFindingAidJob on the last server only.
    const php = trackChild(spawn('gearman', ['-h', '127.0.0.1', '-p', String(last.port), '-w', '-f', `${prefix}arFindingAidJob`], { stdio: 'ignore' }));
    let worker: SpawnedWorker | undefined;
    try {
      await untilServed(last, `${prefix}arFindingAidJob`);
      const result = await check();
      expect(result.status, result.stderr + result.stdout).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`database: +${db.user}@127\\.0\\.0\\.1:${db.port}/atom \\(from ${escape(path.join(atomRoot, 'config', 'config.php'))}\\) \\(ok, [^,]*MariaDB[^,]*, [\\d.]+ ms, job table found\\)`));
      const warned = warningsFrom(result.stdout);
      // qtSwordPluginWorker has a handler here, but no atom-worker runs yet: warned, with that said.
      expect(warned.map((line) => line.split(':')[0]).sort()).toEqual(ATOM_JOB_TYPES.filter((type) => type !== 'arFindingAidJob').sort());
      expect(warned.every((line) => line.includes(`on ${last.address} (the server AtoM asks): AtoM answers HTTP 500`))).toBe(true);
      expect(warned.find((line) => line.startsWith('qtSwordPluginWorker:'))).toContain('is `atom-worker run` running?');
      expect(rowOf(result.stdout, 'arFindingAidJob')).toEqual(['arFindingAidJob', 'no', 'nobody', 'other ×1']);

      // With atom-worker serving the DIP job on both servers, that warning goes and the row says so.
      worker = spawnCli(['run', '--config', path.join(atomRoot, 'config', 'gearman.yml'), '--abilities', 'qtSwordPluginWorker', '--no-journal', '--log-format', 'json'], { cwd: atomRoot });
      await worker.waitForLog(isFullyRegistered);
      const after = await check(['--json']);
      const report = JSON.parse(after.stdout) as { atom_database: { ok: boolean; job_table: boolean }; atom_job_types: Array<{ type: string; handled_here: boolean; servers: Array<{ atom_workers: number; other_workers: number }> }>; warnings: string[] };
      expect(report.atom_database).toMatchObject({ ok: true, job_table: true });
      expect(report.atom_job_types).toHaveLength(18);
      expect(report.atom_job_types.find((entry) => entry.type === 'qtSwordPluginWorker')).toMatchObject({ handled_here: true, servers: [{ atom_workers: 1, other_workers: 0 }, { atom_workers: 1, other_workers: 0 }] });
      expect(report.warnings.filter((line) => line.includes('(the server AtoM asks)'))).toHaveLength(16);
      // `status` shows the same table.
      const status = await cli(['status', '--config', path.join(atomRoot, 'config', 'gearman.yml')], { cwd: atomRoot });
      expect(status.status, status.stderr).toBe(0);
      expect(rowOf(status.stdout, 'qtSwordPluginWorker')).toEqual(['qtSwordPluginWorker', 'yes', 'atom-worker ×1', 'atom-worker ×1']);
      expect(rowOf(status.stdout, 'arFindingAidJob')).toEqual(['arFindingAidJob', 'no', 'nobody', 'other ×1']);
    } finally {
      php.kill('SIGKILL');
      if (worker) {
        worker.kill('SIGTERM');
        await worker.exited;
      }
    }
  }, 60_000);

  it('exits 69 naming the database when it cannot be reached', async () => {
    const root = tempDir({ 'config/config.php': configPhp(1, db.user, db.password) });
    const config = path.join(root, 'gearman.yml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(config, `all:\n  servers: { default: "${last.address}" }\n  atom_worker:\n    atom_root_dir: ${root}\n`);
    const result = await cli(['check', '--config', config], { cwd: root });
    expect(result.status).toBe(69);
    expect(result.stdout).toMatch(/database: +\S+@127\.0\.0\.1:1\/atom .*FAILED: /);
    expect(result.stdout).toContain(`AtoM database ${db.user}@127.0.0.1:1/atom (from ${path.join(root, 'config', 'config.php')}): `);
  });

  it('exits 78 naming config.php when it cannot be understood', async () => {
    const root = tempDir({ 'config/config.php': "<?php return array('all' => array('propel' => array('param' => array('dsn' => DB_DSN))));" });
    const config = path.join(root, 'gearman.yml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(config, `all:\n  servers: { default: "${last.address}" }\n  atom_worker:\n    atom_root_dir: ${root}\n`);
    const result = await cli(['check', '--config', config], { cwd: root });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain(path.join(root, 'config', 'config.php'));
    expect(result.stderr).toContain('DB_DSN');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function warningsFrom(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('warning: ') && line.includes('(the server AtoM asks)'))
    .map((line) => line.slice('warning: '.length));
}

/** The cells of a table row, split on the runs of spaces between columns. */
function rowOf(stdout: string, first: string): string[] | undefined {
  const line = stdout.split('\n').find((text) => text.startsWith(`${first} `));
  return line?.trim().split(/ {2,}/);
}

/** gearmand's `workers` lists the function once the worker's CAN_DO is in: wait for that, not a fixed time. */
async function untilServed(gearmand: Gearmand, fn: string): Promise<void> {
  const { serverWorkers } = await import('../../src/gearman/admin.js');
  for (let tries = 0; tries < 200; tries++) {
    const workers = await serverWorkers({ host: '127.0.0.1', port: gearmand.port });
    if (workers.some((worker) => worker.functions.includes(fn))) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${fn} never registered on ${gearmand.address}`);
}
