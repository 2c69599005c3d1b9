// `atom-worker run` end to end, as a new user would try it: a real gearmand, a config file pointing at
// it, a jobs folder of plain .mjs modules, and libgearman's own client (`gearman`) submitting jobs.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverWorkers } from '../../src/gearman/admin.js';
import { GearmanClient } from '../../src/gearman/client.js';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';
import { gearmanCli, isFullyRegistered, type SpawnedWorker, spawnCli, tempDir } from '../harness/worker.js';

const jobsFolder = (): string =>
  tempDir({
    // Written as someone else would: no import of ours.
    'echo.mjs': 'export default { name: "echo", async run(payload) { return { echoed: payload }; } };',
    'explode.mjs': 'export default { name: "explode", run() { throw new Error("the handler exploded"); } };',
    'report.mjs': `export default {
      name: "report",
      async run(payload, ctx) {
        for (let i = 1; i <= 3; i++) ctx.progress(i, 3);
        ctx.data("partial-1");
        ctx.warning("watch out");
        return "done";
      },
    };`,
  });

describe('atom-worker run against a real gearmand', () => {
  let gearmand: Gearmand;
  let worker: SpawnedWorker;
  let jobs: string;
  let config: string;

  beforeAll(async () => {
    gearmand = await startGearmand();
    jobs = jobsFolder();
    const dir = tempDir({ 'gearman.yml': `all:\n  servers:\n    default: ${gearmand.address}\n` });
    config = path.join(dir, 'gearman.yml');
    worker = spawnCli(['run', '--config', config, '--jobs', jobs, '--concurrency', '2']);
    await worker.waitForLog(isFullyRegistered);
  });

  afterAll(async () => {
    if (worker.child.exitCode === null) {
      worker.kill('SIGKILL');
      await worker.exited;
    }
    await gearmand.stop();
  });

  it('shows its functions in the server\'s workers list', async () => {
    const workers = await serverWorkers({ host: '127.0.0.1', port: gearmand.port });
    const ours = workers.filter((entry) => entry.clientId.startsWith('atom-worker:'));
    expect(ours).toHaveLength(2); // one connection per slot
    for (const entry of ours) expect([...entry.functions].sort()).toEqual(['echo', 'explode', 'report']);
  });

  it('completes 200 foreground jobs from libgearman\'s C client with the handler\'s result', async () => {
    const input = Array.from({ length: 200 }, (_, i) => `${JSON.stringify({ n: i })}\n`).join('');
    const result = await gearmanCli(gearmand.port, ['-f', 'echo', '-N'], { input });
    expect(result.status).toBe(0);
    const results = [...result.stdout.matchAll(/\{"echoed":\{"n":(\d+)\}\}/g)].map((match) => Number(match[1]));
    expect(results.sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('gives the client a failure when a handler throws, and keeps serving', async () => {
    const failed = await gearmanCli(gearmand.port, ['-f', 'explode', '{}'], { timeoutMs: 10_000 });
    expect(failed.status).not.toBe(0);
    expect(failed.signal).toBeNull(); // not killed by the timeout: the failure reached the client
    expect(failed.stdout + failed.stderr).toContain('the handler exploded');
    const next = await gearmanCli(gearmand.port, ['-f', 'echo', '"after"'], { timeoutMs: 10_000 });
    expect(next.status).toBe(0);
    expect(next.stdout).toBe('{"echoed":"after"}');
  });

  it('sends status, data and warnings as a client sees them', async () => {
    const client = new GearmanClient([{ host: '127.0.0.1', port: gearmand.port }]);
    const seen: string[] = [];
    const outcome = await client.submit('report', '{}', {
      onStatus: (n, d) => seen.push(`status ${n}/${d}`),
      onData: (data) => seen.push(`data ${data.toString()}`),
      onWarning: (data) => seen.push(`warning ${data.toString()}`),
    });
    client.close();
    expect(outcome.status).toBe('complete');
    expect(outcome.status === 'complete' && outcome.result.toString()).toBe('done');
    expect(seen).toEqual(['status 1/3', 'status 2/3', 'status 3/3', 'data partial-1', 'warning watch out']);
  });

  it('answers WORK_EXCEPTION to clients that ask for it, with --failure-reply exception', async () => {
    const exceptionWorker = spawnCli(['run', '--config', config, '--jobs', jobs, '--abilities', 'explode', '--prefix', 'exc-', '--failure-reply', 'exception']);
    await exceptionWorker.waitForLog(isFullyRegistered);
    const client = new GearmanClient([{ host: '127.0.0.1', port: gearmand.port }]);
    const outcome = await client.submit('exc-explode', '{}');
    client.close();
    exceptionWorker.kill('SIGTERM');
    expect(outcome).toMatchObject({ status: 'exception', message: 'the handler exploded' });
    expect((await exceptionWorker.exited).code).toBe(0);
  });

  it('writes JSON log lines; each completed job carries its function, handle and duration', () => {
    const lines = worker.stdout().trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    const completed = worker.lines.filter((line) => line.msg === 'job completed');
    expect(completed.length).toBeGreaterThanOrEqual(202);
    for (const line of completed) {
      expect(line.function).toMatch(/^(echo|report)$/);
      expect(typeof line.handle).toBe('string');
      expect(typeof line.duration_ms).toBe('number');
      expect(line.outcome).toBe('completed');
    }
    const started = worker.lines.find((line) => line.msg === 'job started');
    expect(started).toMatchObject({ function: expect.any(String), handle: expect.any(String), unique: expect.any(String), payload_bytes: expect.any(Number) });
    const failed = worker.lines.find((line) => line.msg === 'job failed');
    expect(failed).toMatchObject({ function: 'explode', outcome: 'failed', reason: 'the handler exploded' });
    const startup = worker.lines.find((line) => typeof line.msg === 'string' && line.msg.startsWith('atom-worker '));
    expect(startup).toMatchObject({ version: expect.any(String), servers: [gearmand.address] });
    expect((startup!.functions as Array<{ function: string }>).map((f) => f.function).sort()).toEqual(['echo', 'explode', 'report']);
  });

  it('exits 0 on SIGTERM', async () => {
    worker.kill('SIGTERM');
    const { code } = await worker.exited;
    expect(code).toBe(0);
    expect(worker.lines.at(-1)).toMatchObject({ msg: 'atom-worker stopped', exit_code: 0 });
  });
});

describe('function names and configuration errors', () => {
  let gearmand: Gearmand;
  beforeAll(async () => {
    gearmand = await startGearmand();
  });
  afterAll(async () => {
    await gearmand.stop();
  });

  it("registers under AtoM's md5 prefix when atom_root_dir is set", async () => {
    const dir = tempDir({
      'gearman.yml': `all:\n  servers: { default: "${gearmand.address}" }\n  atom_worker:\n    atom_root_dir: /usr/share/nginx/atom\n`,
    });
    const worker = spawnCli(['run', '--config', path.join(dir, 'gearman.yml'), '--jobs', jobsFolder(), '--abilities', 'echo']);
    await worker.waitForLog(isFullyRegistered);
    const workers = await serverWorkers({ host: '127.0.0.1', port: gearmand.port });
    worker.kill('SIGTERM');
    await worker.exited;
    // printf %s /usr/share/nginx/atom | md5sum
    expect(workers.flatMap((entry) => entry.functions)).toContain('424b6ef096d623432cfda8de25d8db88-echo');
  });

  it('selects jobs with --types from worker_types and warns about abilities without a handler', async () => {
    const dir = tempDir({
      'gearman.yml': `all:\n  servers: { default: "${gearmand.address}" }\n  worker_types:\n    general: [echo, arMissingJob]\n    other: [report]\n`,
    });
    const worker = spawnCli(['run', '--config', path.join(dir, 'gearman.yml'), '--jobs', jobsFolder(), '--types', 'general', '--client-id', 'types-test']);
    await worker.waitForLog(isFullyRegistered);
    const workers = await serverWorkers({ host: '127.0.0.1', port: gearmand.port });
    worker.kill('SIGTERM');
    await worker.exited;
    expect(workers.find((entry) => entry.clientId === 'types-test')?.functions).toEqual(['echo']);
    expect(worker.lines.some((line) => line.msg === 'Ability not defined: arMissingJob')).toBe(true);
  });

  it('serves a job server on IPv6 loopback named as AtoM documents it, gearman_job_server: "[::1]:PORT"', async () => {
    const v6 = await startGearmand({ listen: '::1' });
    const dir = tempDir({ 'gearman.yml': `gearman_job_server: "${v6.address}"\n` });
    const worker = spawnCli(['run', '--config', path.join(dir, 'gearman.yml'), '--jobs', jobsFolder(), '--abilities', 'echo']);
    await worker.waitForLog(isFullyRegistered);
    const client = new GearmanClient([{ host: '::1', port: v6.port }]);
    const outcome = await client.submit('echo', '"v6"');
    client.close();
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    expect(outcome.status === 'complete' && outcome.result.toString()).toBe('{"echoed":"v6"}');
    expect(worker.lines.find((line) => line.msg === 'connected to job server; abilities registered')?.server).toBe(v6.address);
    await v6.stop();
  });

  it('exits 78 naming the file and key for a malformed config', async () => {
    const dir = tempDir({ 'gearman.yml': `all:\n  servers: { default: "${gearmand.address}" }\n  atom_worker:\n    concurrency: lots\n` });
    const file = path.join(dir, 'gearman.yml');
    const worker = spawnCli(['run', '--config', file, '--jobs', jobsFolder()]);
    expect((await worker.exited).code).toBe(78);
    expect(worker.stderr().trim()).toBe(`atom-worker: configuration error: ${file}: all.atom_worker.concurrency: expected number, received string`);
  });

  it('exits 78 when the config file is missing, naming the path tried', async () => {
    const worker = spawnCli(['run', '--config', '/nonexistent/gearman.yml']);
    expect((await worker.exited).code).toBe(78);
    expect(worker.stderr()).toContain('/nonexistent/gearman.yml: cannot read the configuration (file not found)');
  });

  it('exits 78 when no selected ability has a handler, or a job module is broken', async () => {
    const noAbility = spawnCli(['run', '--servers', gearmand.address, '--jobs', jobsFolder(), '--abilities', 'nope']);
    expect((await noAbility.exited).code).toBe(78);
    expect(noAbility.stderr()).toContain('nothing to register');
    const broken = tempDir({ 'bad.mjs': 'export default { name: "bad" };' });
    const badModule = spawnCli(['run', '--servers', gearmand.address, '--jobs', broken]);
    expect((await badModule.exited).code).toBe(78);
    expect(badModule.stderr()).toContain(`${path.join(broken, 'bad.mjs')}: the job definition has no run(payload, ctx) function`);
  });
});
