// A worker started as the generated service starts it (journal and sockets in the service's state
// and run folders) is found by `status --local`, `quiet`, `resume` and `jobs list` run from any
// folder without flags. The service root is a temp folder (ATOM_WORKER_SERVICE_ROOT), not the real /run.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanClient } from '../../src/gearman/client.js';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';
import { isConnected, spawnCli, type SpawnedWorker, tempDir } from '../harness/worker.js';
import { cli, stopWorker } from './helpers.js';

describe("the verbs find an installed service's worker and journal", () => {
  let gearmand: Gearmand;
  let worker: SpawnedWorker;
  let root: string;
  let elsewhere: string;

  beforeAll(async () => {
    gearmand = await startGearmand();
    root = tempDir();
    elsewhere = tempDir();
    // The arguments units.ts gives `run`, under the temp root.
    const journal = path.join(root, 'var/lib/atom-worker/journal.sqlite');
    const runDir = path.join(root, 'run/atom-worker');
    worker = spawnCli(['run', '--servers', gearmand.address, '--log-format', 'json', '--journal', journal, '--run-dir', runDir], { cwd: tempDir(), env: { XDG_RUNTIME_DIR: '' } });
    await worker.waitForLog(isConnected);
  });
  afterAll(async () => {
    if (worker) await stopWorker(worker);
    await gearmand?.stop();
  });

  const env = (): NodeJS.ProcessEnv => ({ ATOM_WORKER_SERVICE_ROOT: root, XDG_RUNTIME_DIR: '' });

  it('status --local, quiet and resume reach it with no --run-dir', async () => {
    const status = await cli(['status', '--local', '--json'], { cwd: elsewhere, env: env() });
    expect(status.status).toBe(0);
    expect((JSON.parse(status.stdout) as { workers: Array<{ pid: number }> }).workers.map((entry) => entry.pid)).toEqual([worker.pid]);
    const quiet = await cli(['quiet'], { cwd: elsewhere, env: env() });
    expect(quiet.stdout).toContain(`pid ${worker.pid}: quiet`);
    const resume = await cli(['resume'], { cwd: elsewhere, env: env() });
    expect(resume.stdout).toContain(`pid ${worker.pid}: running`);
    // Without the service root there is nothing to find from that folder.
    const none = await cli(['status', '--local'], { cwd: elsewhere, env: { ATOM_WORKER_SERVICE_ROOT: tempDir(), XDG_RUNTIME_DIR: '' } });
    expect(none.status).toBe(69);
  });

  it("jobs list reads the service's journal with no --journal, and says so", async () => {
    const client = new GearmanClient([{ host: gearmand.host, port: gearmand.port }]);
    const outcome = await client.submit('atomWorkerTest', '{"echo":"from the service"}', { unique: 'service-job' });
    client.close();
    expect(outcome.status).toBe('complete');
    await worker.waitForLog((line) => line.msg === 'job completed' && line.unique === 'service-job');
    let rows: Array<{ unique_key: string; status: string }> = [];
    let stderr = '';
    for (let tries = 0; tries < 50 && !rows.some((row) => row.status === 'completed'); tries++) {
      const listed = await cli(['jobs', 'list', '--json'], { cwd: elsewhere, env: env() });
      expect(listed.status).toBe(0);
      rows = JSON.parse(listed.stdout) as typeof rows;
      stderr = listed.stderr;
    }
    expect(rows).toEqual([expect.objectContaining({ unique_key: 'service-job', status: 'completed' })]);
    expect(stderr).toContain(`reading the installed service's journal, ${path.join(root, 'var/lib/atom-worker/journal.sqlite')}`);
  });
});
