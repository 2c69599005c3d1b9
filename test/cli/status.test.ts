// `atom-worker status` against two real job servers: admin `status` and `workers` merged, our
// functions marked, workers listed by client id; and `submit` on a terminal draws a progress bar.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addServerCounts, counter, type FunctionRow } from '../../src/cli/status.js';
import { GearmanClient } from '../../src/gearman/client.js';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';
import { spawnCli, tempDir } from '../harness/worker.js';
import { cli, cliOnTerminal, haveScript, type OpsWorker, startWorker, stopWorker } from '../ops/helpers.js';

describe('atom-worker status (servers view)', () => {
  let first: Gearmand;
  let second: Gearmand;
  let ops: OpsWorker;
  let dir: string;

  beforeAll(async () => {
    [first, second] = await Promise.all([startGearmand(), startGearmand()]);
    dir = tempDir({ 'config/gearman.yml': `all:\n  servers:\n    a: ${first.address}\n    b: ${second.address}\n  atom_worker:\n    job_prefix: "st-"\n` });
    ops = await startWorker(first, { dir, args: ['--config', `${dir}/config/gearman.yml`, '--servers', `${first.address},${second.address}`, '--client-id', 'status-test-worker'] });
    await ops.worker.waitForLogs((line) => line.msg === 'connected to job server; abilities registered', 2);
  });
  afterAll(async () => {
    if (ops) await stopWorker(ops.worker);
    await Promise.all([first?.stop(), second?.stop()]);
  });

  it('merges both servers: queued and available workers per function, ours marked, workers by client id', async () => {
    // A job for a function nobody serves stays queued on the server its unique key hashes to.
    const client = new GearmanClient([{ host: first.host, port: first.port }]);
    await client.submitBackground('st-nobody', '{}', { unique: 'orphan' });
    client.close();

    const result = await cli(['status', '--json'], { cwd: dir });
    expect(result.status).toBe(0);
    const status = JSON.parse(result.stdout) as {
      servers: Array<{ server: string; ok: boolean }>;
      functions: Array<{ function: string; waiting: number; running: number; available_workers: number; ours: boolean; servers: string[] }>;
      workers: Array<{ client_id: string; server: string; functions: string[] }>;
    };
    expect(status.servers).toEqual([
      { server: first.address, ok: true },
      { server: second.address, ok: true },
    ]);
    const ours = status.functions.find((row) => row.function === 'st-atomWorkerTest');
    expect(ours).toMatchObject({ ours: true, waiting: 0, available_workers: 2 });
    expect(ours!.servers.sort()).toEqual([first.address, second.address].sort());
    expect(status.functions.find((row) => row.function === 'st-nobody')).toMatchObject({ ours: false, waiting: 1, available_workers: 0 });
    expect(status.workers.filter((worker) => worker.client_id === 'status-test-worker').map((worker) => worker.server).sort()).toEqual([first.address, second.address].sort());

    const table = await cli(['status'], { cwd: dir });
    expect(table.stdout).toMatch(/\*\s+st-atomWorkerTest\s+0\s+0\s+2/);
    expect(table.stdout).toMatch(/\s+st-nobody\s+1\s+0\s+0/);
    expect(table.stdout).toContain('status-test-worker');
  });

  it("counts a running job as running, not also as waiting (gearmand's total includes it)", async () => {
    const client = new GearmanClient([{ host: first.host, port: first.port }]);
    const outcome = client.submit('st-atomWorkerTest', JSON.stringify({ sleepMs: 3000 }), { unique: 'long-runner' });
    await ops.worker.waitForLog((line) => line.msg === 'job started' && line.unique === 'long-runner');
    try {
      const result = await cli(['status', '--json'], { cwd: dir });
      const status = JSON.parse(result.stdout) as { functions: Array<{ function: string; waiting: number; running: number }> };
      expect(status.functions.find((row) => row.function === 'st-atomWorkerTest')).toMatchObject({ waiting: 0, running: 1 });
      const table = await cli(['status'], { cwd: dir });
      expect(table.stdout).toMatch(/WAITING\s+RUNNING/);
      expect(table.stdout).toMatch(/\*\s+st-atomWorkerTest\s+0\s+1\s+2/);
    } finally {
      expect((await outcome).status).toBe('complete');
      client.close();
    }
  });

  it('names a server that does not answer and exits 69', async () => {
    const result = await cli(['status', '--servers', `${first.address},127.0.0.1:1`], { cwd: dir });
    expect(result.status).toBe(69);
    expect(result.stdout).toMatch(/127\.0\.0\.1:1\s+DOWN/);
  });

  it('--watch --json prints a fresh report every --interval until interrupted', async () => {
    const watcher = spawnCli(['status', '--watch', '--interval', '1', '--json'], { cwd: dir });
    const reports = await watcher.waitForLogs((line) => Array.isArray(line.functions), 2);
    expect(reports[1]!.functions).toEqual(expect.arrayContaining([expect.objectContaining({ function: 'st-atomWorkerTest', ours: true })]));
    watcher.kill('SIGINT');
    expect((await watcher.exited).code).toBe(0);
  });

  it.skipIf(!haveScript())('submit on a terminal draws a progress bar redrawn in place', async () => {
    const result = await cliOnTerminal(`submit atomWorkerTest '{"steps":4,"sleepMs":200}' --servers ${first.address},${second.address} --prefix st-`, { cwd: dir });
    expect(result.status).toBe(0);
    // One redraw (carriage return, clear line, bar) per WORK_STATUS.
    expect(result.stdout.split('\r\x1b[K[').length - 1).toBe(4);
    expect(result.stdout).toMatch(/\[#{30}\] 4\/4 100%/);
    expect(result.stdout).toMatch(/\[#{15}-{15}\] 2\/4 50%/);
    expect(result.stdout).not.toContain('progress 1/4');
    expect(result.stdout).toContain('completed in');
  });
});

describe("status's reading of gearmand's counters", () => {
  it('takes an underflowed counter (gearmand 1.1.20 shows 4294967295) as unknown, never as a number', () => {
    expect([0, 7, 2 ** 31 - 1, 2 ** 31, 4294967295].map(counter)).toEqual([0, 7, 2 ** 31 - 1, null, null]);
    const row: FunctionRow = { function: 'f', waiting: 0, running: 0, available_workers: 0, ours: true, servers: [] };
    addServerCounts(row, { queued: 3, running: 1, availableWorkers: 2 });
    expect(row).toMatchObject({ waiting: 2, running: 1, available_workers: 2 });
    // A second server whose counters underflowed makes the merged counts unknown, not 4294967296-something.
    addServerCounts(row, { queued: 4294967295, running: 4294967295, availableWorkers: 1 });
    expect(row).toMatchObject({ waiting: null, running: null, available_workers: 3 });
  });
});
