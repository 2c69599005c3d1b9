// The local control channel: `quiet`, `resume` and `status --local` against a running worker, over its
// owner-only unix socket in the run dir.
import { chownSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanClient } from '../../src/gearman/client.js';
import { socketPathFor } from '../../src/ops/control.js';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';
import { tempDir } from '../harness/worker.js';
import { cli, type OpsWorker, startWorker, stopWorker } from './helpers.js';

describe('quiet, resume and status --local', () => {
  let gearmand: Gearmand;
  let ops: OpsWorker;
  let client: GearmanClient;

  beforeAll(async () => {
    gearmand = await startGearmand();
    ops = await startWorker(gearmand);
    client = new GearmanClient([{ host: gearmand.host, port: gearmand.port }]);
  });
  afterAll(async () => {
    client?.close();
    if (ops) await stopWorker(ops.worker);
    await gearmand?.stop();
  });

  it('the socket is owner-only (0600) in an owner-only run dir (0700)', () => {
    const socket = statSync(socketPathFor(ops.runDir, ops.worker.pid));
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);
    expect(statSync(ops.runDir).mode & 0o777).toBe(0o700);
  });

  it('status --local shows the worker and the job it runs (function, handle, age)', async () => {
    const job = client.submit('atomWorkerTest', JSON.stringify({ sleepMs: 4000 }), { unique: 'local-status' });
    const started = await ops.worker.waitForLog((line) => line.msg === 'job started' && line.unique === 'local-status');
    const result = await cli(['status', '--local', '--json', '--run-dir', ops.runDir], { cwd: ops.dir });
    expect(result.status).toBe(0);
    const status = JSON.parse(result.stdout) as { workers: Array<{ pid: number; state: string; running: Array<{ function: string; handle: string; age_s: number }> }> };
    expect(status.workers).toHaveLength(1);
    expect(status.workers[0]).toMatchObject({ pid: ops.worker.pid, state: 'running' });
    expect(status.workers[0]!.running).toEqual([expect.objectContaining({ function: 'atomWorkerTest', handle: started.handle })]);
    // One key convention in every --json output: snake_case.
    expect(Object.keys(status.workers[0]!)).toEqual(expect.arrayContaining(['client_id', 'connected_servers', 'jobs_started', 'started_at']));
    expect(camelCaseKeys(status)).toEqual([]);
    const table = await cli(['status', '--local', '--run-dir', ops.runDir], { cwd: ops.dir });
    expect(table.stdout).toContain(String(started.handle));
    expect(table.stdout).toMatch(new RegExp(`${ops.worker.pid}\\s+running\\s+1/1`));
    expect((await job).status).toBe('complete');
  });

  it('quiet --json and resume --json answer in snake_case', async () => {
    const quiet = await cli(['quiet', '--json', '--run-dir', ops.runDir], { cwd: ops.dir });
    expect(quiet.status).toBe(0);
    const answers = JSON.parse(quiet.stdout) as Array<{ pid: number; ok: boolean; status: { state: string; client_id: string } }>;
    expect(answers[0]).toMatchObject({ pid: ops.worker.pid, ok: true, status: { state: 'quiet' } });
    expect(camelCaseKeys(answers)).toEqual([]);
    const resume = await cli(['resume', '--json', '--run-dir', ops.runDir], { cwd: ops.dir });
    expect((JSON.parse(resume.stdout) as typeof answers)[0]).toMatchObject({ ok: true, status: { state: 'running' } });
  });

  it('quiet stops taking jobs (a submitted job stays queued); resume takes it', async () => {
    const quiet = await cli(['quiet', '--run-dir', ops.runDir], { cwd: ops.dir });
    expect(quiet.status).toBe(0);
    expect(quiet.stdout).toContain(`pid ${ops.worker.pid}: quiet`);
    await ops.worker.waitForLog((line) => line.msg === 'worker quiet');
    const queued = await client.submitBackground('atomWorkerTest', '{"echo":"after resume"}', { unique: 'held' });
    const status = await cli(['status', '--servers', gearmand.address, '--json'], { cwd: ops.dir });
    const fn = (JSON.parse(status.stdout) as { functions: Array<{ function: string; waiting: number; running: number; ours: boolean }> }).functions.find(
      (row) => row.function === 'atomWorkerTest',
    );
    expect(fn).toMatchObject({ waiting: 1, running: 0, ours: true });

    const resume = await cli(['resume', '--run-dir', ops.runDir, '--pid', String(ops.worker.pid)], { cwd: ops.dir });
    expect(resume.stderr).toBe('');
    expect(resume.status).toBe(0);
    expect(resume.stdout).toContain(`pid ${ops.worker.pid}: running`);
    await ops.worker.waitForLog((line) => line.msg === 'job completed' && line.handle === queued.handle);
  });

  it('with no worker there, quiet exits 69 and says where it looked', async () => {
    const result = await cli(['quiet', '--run-dir', `${ops.dir}/empty`], { cwd: ops.dir });
    expect(result.status).toBe(69);
    expect(result.stderr).toContain('no running worker found');
  });
});

describe('a run folder someone else prepared is refused', () => {
  let gearmand: Gearmand;
  beforeAll(async () => {
    gearmand = await startGearmand();
  });
  afterAll(async () => {
    await gearmand?.stop();
  });

  async function refused(runDir: string): Promise<string> {
    const ops = await startWorker(gearmand, { args: ['--run-dir', runDir] });
    try {
      const line = await ops.worker.waitForLog((entry) => String(entry.msg).startsWith('no control socket'));
      return String(line.err);
    } finally {
      await stopWorker(ops.worker);
    }
  }

  it('a symbolic link, even to a folder of ours', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'real'), { mode: 0o700 });
    symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    expect(await refused(path.join(dir, 'link'))).toContain('is a symbolic link');
  });

  it.skipIf(process.getuid?.() !== 0)("a folder owned by another user (as root: chowned to nobody)", async () => {
    const dir = path.join(tempDir(), 'theirs');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    expect(await refused(dir)).toMatch(/belongs to uid 65534, not to this user/);
  });
});

/** Every object key in `value` that is not snake_case. */
function camelCaseKeys(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(camelCaseKeys);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, entry]) => [...(/[A-Z]/.test(key) ? [key] : []), ...camelCaseKeys(entry)]);
}
