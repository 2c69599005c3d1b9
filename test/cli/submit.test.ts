// `atom-worker submit` against a real gearmand and worker: every progress step, data and warnings as
// they come, the result, the exit status; then `jobs list --json` agrees with what the client saw.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';
import { cli, type OpsWorker, startWorker, stopWorker } from '../ops/helpers.js';
import { tempDir } from '../harness/worker.js';

describe('atom-worker submit and jobs', () => {
  let gearmand: Gearmand;
  let ops: OpsWorker;
  let config: string;

  beforeAll(async () => {
    gearmand = await startGearmand();
    const dir = tempDir({ 'config/gearman.yml': `all:\n  servers:\n    default: ${gearmand.address}\n  atom_worker:\n    job_prefix: "p1-"\n    journal_path: journal.sqlite\n` });
    config = `${dir}/config/gearman.yml`;
    ops = await startWorker(gearmand, { dir, args: ['--config', config] });
  });
  afterAll(async () => {
    if (ops) await stopWorker(ops.worker);
    await gearmand?.stop();
  });

  it('--wait (the default) shows every progress step in order, data and warnings, then the result; exit 0', async () => {
    const payload = JSON.stringify({ steps: 5, sleepMs: 250, data: ['chunk-a', 'chunk-b'], warning: 'careful', echo: { answer: 42 } });
    const result = await cli(['submit', 'atomWorkerTest', payload, '--unique', 'submit-ok'], { cwd: ops.dir });
    expect(result.status).toBe(0);
    const progress = result.stderr.split('\n').filter((line) => line.startsWith('progress '));
    expect(progress).toEqual(['progress 1/5', 'progress 2/5', 'progress 3/5', 'progress 4/5', 'progress 5/5']);
    expect(result.stderr).toContain('submitted p1-atomWorkerTest');
    expect(result.stderr).toContain('warning: careful');
    expect(result.stdout).toBe('chunk-a\nchunk-b\n{"answer":42}\n');
  });

  it('exits 1 with the failure reason for a failing job; @file payloads are read', async () => {
    const dir = tempDir({ 'payload.json': JSON.stringify({ fail: 'the disk is full' }) });
    const result = await cli(['submit', 'atomWorkerTest', `@${dir}/payload.json`, '--unique', 'submit-fail'], { cwd: ops.dir });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/failed: the disk is full/);
  });

  it('--background prints the handle; the job runs', async () => {
    const result = await cli(['submit', 'atomWorkerTest', '{"echo":1}', '--background', '--priority', 'high', '--unique', 'submit-bg'], { cwd: ops.dir });
    expect(result.status).toBe(0);
    const handle = result.stdout.trim();
    expect(handle).toMatch(/^H:/);
    await ops.worker.waitForLog((line) => line.msg === 'job completed' && line.handle === handle);
  });

  it('exits 69 naming the servers when none accepts the job', async () => {
    const result = await cli(['submit', 'atomWorkerTest', '{}', '--servers', '127.0.0.1:1'], { cwd: ops.dir });
    expect(result.status).toBe(69);
    expect(result.stderr).toContain('127.0.0.1:1');
  });

  it('jobs list --json lists the runs with the outcomes and durations the clients saw', async () => {
    const timed = await cli(['submit', 'atomWorkerTest', JSON.stringify({ sleepMs: 400 }), '--unique', 'submit-timed', '--json'], { cwd: ops.dir });
    expect(timed.status).toBe(0);
    const seen = JSON.parse(timed.stdout) as { status: string; duration_ms: number; handle: string };
    expect(seen.status).toBe('complete');
    // The worker journals its rows within 50 ms of the job's end; wait for the log line that follows the row.
    await ops.worker.waitForLog((line) => line.msg === 'job completed' && line.unique === 'submit-timed');
    let rows: Array<Record<string, unknown>> = [];
    for (let tries = 0; tries < 50; tries++) {
      const listed = await cli(['jobs', 'list', '--json', '--config', config], { cwd: ops.dir });
      expect(listed.status).toBe(0);
      rows = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
      if (rows.some((row) => row.unique_key === 'submit-timed' && row.status === 'completed')) break;
    }
    const byUnique = new Map(rows.map((row) => [row.unique_key, row]));
    expect(byUnique.get('submit-ok')).toMatchObject({ status: 'completed', function: 'p1-atomWorkerTest', attempt: 1, progress_numerator: 5, progress_denominator: 5 });
    expect(byUnique.get('submit-fail')).toMatchObject({ status: 'failed', error: 'the disk is full' });
    expect(byUnique.get('submit-bg')).toMatchObject({ status: 'completed' });
    const timedRow = byUnique.get('submit-timed')!;
    expect(timedRow).toMatchObject({ status: 'completed', handle: seen.handle });
    expect(timedRow.duration_ms as number).toBeGreaterThanOrEqual(400);
    expect(timedRow.duration_ms as number).toBeLessThanOrEqual(seen.duration_ms);

    const failed = await cli(['jobs', 'list', '--json', '--status', 'failed', '--journal', ops.journal], { cwd: ops.dir });
    expect((JSON.parse(failed.stdout) as Array<{ unique_key: string }>).map((row) => row.unique_key)).toEqual(['submit-fail']);
    const table = await cli(['jobs', 'list', '--journal', ops.journal], { cwd: ops.dir });
    expect(table.stdout).toMatch(/STATUS/);
    expect(table.stdout).toContain('the disk is full');
  });

  it('jobs clear refuses without --yes off a terminal, and with --yes deletes ended runs only', async () => {
    const refused = await cli(['jobs', 'clear', '--journal', ops.journal], { cwd: ops.dir });
    expect(refused.status).toBe(64);
    expect(refused.stderr).toContain('--yes');
    // A running job must survive the clear.
    const running = cli(['submit', 'atomWorkerTest', JSON.stringify({ sleepMs: 3000 }), '--unique', 'still-running'], { cwd: ops.dir });
    await ops.worker.waitForLog((line) => line.msg === 'job started' && line.unique === 'still-running');
    let cleared: { deleted: number; kept_running: number } = { deleted: 0, kept_running: 0 };
    for (let tries = 0; tries < 50 && cleared.kept_running === 0; tries++) {
      const result = await cli(['jobs', 'clear', '--yes', '--json', '--journal', ops.journal], { cwd: ops.dir });
      expect(result.status).toBe(0);
      cleared = JSON.parse(result.stdout) as typeof cleared;
    }
    expect(cleared.kept_running).toBe(1);
    const listed = await cli(['jobs', 'list', '--json', '--journal', ops.journal], { cwd: ops.dir });
    const rows = JSON.parse(listed.stdout) as Array<{ unique_key: string; status: string }>;
    expect(rows.map((row) => [row.unique_key, row.status])).toEqual([['still-running', 'running']]);
    expect((await running).status).toBe(0);
  });
});

describe('atom-worker submit: following, timeouts, JSON results, status <handle>', () => {
  let gearmand: Gearmand;
  let ops: OpsWorker;

  beforeAll(async () => {
    gearmand = await startGearmand();
    const dir = tempDir({ 'config/gearman.yml': `all:\n  servers:\n    default: ${gearmand.address}\n  atom_worker:\n    journal_path: journal.sqlite\n` });
    ops = await startWorker(gearmand, { dir, args: ['--config', `${dir}/config/gearman.yml`] });
  });
  afterAll(async () => {
    if (ops) await stopWorker(ops.worker);
    await gearmand?.stop();
  });

  it('--json gives a JSON result as its parsed value and a text result as a string', async () => {
    const parsed = await cli(['submit', 'atomWorkerTest', JSON.stringify({ echo: { answer: 42, list: [1, 2] } }), '--json'], { cwd: ops.dir });
    expect(parsed.status).toBe(0);
    expect((JSON.parse(parsed.stdout) as { result: unknown }).result).toEqual({ answer: 42, list: [1, 2] });
    const text = await cli(['submit', 'atomWorkerTest', JSON.stringify({ echo: 'plain words' }), '--json'], { cwd: ops.dir });
    expect((JSON.parse(text.stdout) as { result: unknown }).result).toBe('plain words');
  });

  it("prints a failure's reason once, and keeps it out of the warnings in --json", async () => {
    const plain = await cli(['submit', 'atomWorkerTest', JSON.stringify({ warning: 'first a warning', fail: 'the reason itself' })], { cwd: ops.dir });
    expect(plain.status).toBe(1);
    expect(plain.stderr.split('the reason itself').length - 1).toBe(1);
    expect(plain.stderr).toMatch(/failed: the reason itself \(after \d+ ms\)/);
    expect(plain.stderr).toContain('warning: first a warning');
    const json = await cli(['submit', 'atomWorkerTest', JSON.stringify({ warning: 'first a warning', fail: 'the reason itself' }), '--json'], { cwd: ops.dir });
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'fail', error: 'the reason itself', warnings: ['first a warning'] });
  });

  it('warns at once when no worker serves the function, and --timeout gives up with exit 75', async () => {
    const result = await cli(['submit', 'nobodyServesThis', '{}', '--timeout', '1'], { cwd: ops.dir });
    expect(result.status).toBe(75);
    expect(result.stderr).toContain('warning: no worker is registered for nobodyServesThis');
    expect(result.stderr).toMatch(/gave up waiting after 1 s: H:\S+ is still queued on /);
    // A served function gets no such warning.
    const served = await cli(['submit', 'atomWorkerTest', '{}'], { cwd: ops.dir });
    expect(served.status).toBe(0);
    expect(served.stderr).not.toContain('no worker is registered');
  });

  it('--background --wait follows the job with GET_STATUS and reports the outcome from the journal', async () => {
    const ok = await cli(['submit', 'atomWorkerTest', JSON.stringify({ steps: 3, sleepMs: 2400 }), '--background', '--wait'], { cwd: ops.dir });
    expect(ok.status).toBe(0);
    const progress = ok.stderr.split('\n').filter((line) => line.startsWith('progress '));
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress).toEqual([...progress].sort());
    expect(ok.stderr).toMatch(/completed \(after \d+ ms; from the journal\)/);
    const failed = await cli(['submit', 'atomWorkerTest', JSON.stringify({ fail: 'background trouble' }), '--background', '--wait', '--json'], { cwd: ops.dir });
    expect(failed.status).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ status: 'fail', journal_status: 'failed', error: 'background trouble' });
  });

  it('status <handle> shows a queued or running job with its progress; an ended one exits 1', async () => {
    const queued = await cli(['submit', 'atomWorkerTest', JSON.stringify({ steps: 6, sleepMs: 3000 }), '--background', '--unique', 'followed'], { cwd: ops.dir });
    const handle = queued.stdout.trim();
    await ops.worker.waitForLog((line) => line.msg === 'job started' && line.handle === handle);
    // The first WORK_STATUS comes 0.5 s into the job: ask until the server has one.
    let json: { handle?: string; state?: string; server?: string; progress?: { numerator: number; denominator: number } | null } = {};
    for (let tries = 0; tries < 40 && !json.progress; tries++) json = JSON.parse((await cli(['status', handle, '--json'], { cwd: ops.dir })).stdout) as typeof json;
    expect(json).toMatchObject({ handle, state: 'running', server: gearmand.address, progress: { denominator: 6 } });
    const running = await cli(['status', handle], { cwd: ops.dir });
    expect(running.status).toBe(0);
    expect(running.stdout.startsWith(`${handle}: running on ${gearmand.address}  [#`)).toBe(true);
    expect(running.stdout).toMatch(/\] \d\/6 \d+%/);
    await ops.worker.waitForLog((line) => line.msg === 'job completed' && line.handle === handle, 10_000);
    const ended = await cli(['status', handle], { cwd: ops.dir });
    expect(ended.status).toBe(1);
    expect(ended.stdout).toContain('not known to any job server');
  });
});
