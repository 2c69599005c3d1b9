// `atom-worker check` against real job servers: exit 0 and a full report when all is well; non-zero,
// naming the server, when one is down; 78 for a configuration error.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLowPort, type Gearmand, startGearmand } from '../harness/gearmand.js';
import { tempDir } from '../harness/worker.js';
import { cli } from '../ops/helpers.js';

describe('atom-worker check', () => {
  let gearmand: Gearmand;
  let dir: string;

  beforeAll(async () => {
    gearmand = await startGearmand();
    dir = tempDir({ 'config/gearman.yml': `all:\n  servers:\n    default: ${gearmand.address}\n  atom_worker:\n    job_prefix: "site-"\n    journal_path: var/j.sqlite\n` });
  });
  afterAll(async () => {
    await gearmand?.stop();
  });

  it('exits 0 with a healthy config: server version and round-trip time, every function it would register', async () => {
    const result = await cli(['check', '--json'], { cwd: dir });
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; servers: Array<{ server: string; ok: boolean; version: string; rtt_ms: number }>; functions: Array<{ function: string }>; journal: { path: string; ok: boolean } };
    expect(report.ok).toBe(true);
    expect(report.servers).toHaveLength(1);
    expect(report.servers[0]).toMatchObject({ server: gearmand.address, ok: true });
    expect(report.servers[0]!.version).toMatch(/^\d+\.\d+/);
    expect(report.servers[0]!.rtt_ms).toBeGreaterThan(0);
    expect(report.functions.map((fn) => fn.function).sort()).toEqual(['site-atomWorkerTest', 'site-qtSwordPluginWorker']);
    expect(report.journal).toMatchObject({ path: path.join(dir, 'var', 'j.sqlite'), ok: true });

    const human = await cli(['check'], { cwd: dir });
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`${gearmand.address.replace(/\./g, '\\.')}\\s+ok`));
    expect(human.stdout).toContain('site-atomWorkerTest');
    expect(human.stdout).toContain('check: ok (1 server, 2 functions)');
  });

  it('exits 69 naming the server that is down, in a table', async () => {
    const downPort = await freeLowPort();
    const down = `127.0.0.1:${downPort}`;
    const result = await cli(['check', '--servers', `${gearmand.address},${down}`], { cwd: dir });
    expect(result.status).toBe(69);
    expect(result.stdout).toMatch(new RegExp(`${down.replace(/\./g, '\\.')}\\s+DOWN`));
    expect(result.stdout).toContain(`job server ${down} is down`);
    expect(result.stdout).toMatch(new RegExp(`${gearmand.address.replace(/\./g, '\\.')}\\s+ok`));
  });

  it('--offline validates everything but the servers, which it does not contact (for ExecStartPre=)', async () => {
    const down = `127.0.0.1:${await freeLowPort()}`;
    const result = await cli(['check', '--offline', '--servers', down], { cwd: dir });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`${down.replace(/\./g, '\\.')}\\s+not contacted`));
    expect(result.stdout).toMatch(/^check: ok/m);
  });

  it("warns when AtoM's database is configured without atom_root_dir (DIP jobs would fail), and not with dip_output: csv", async () => {
    const section = 'atom_database: { host: 127.0.0.1, port: 3306, name: atom, user: atom, password: x }';
    const warning = "warning: AtoM's database is configured but atom_root_dir is not: DIP jobs will fail";
    const database = tempDir({ 'config/gearman.yml': `all:\n  servers: { default: "${gearmand.address}" }\n  atom_worker:\n    ${section}\n` });
    expect((await cli(['check', '--offline'], { cwd: database })).stdout).toContain(warning);
    const csv = tempDir({ 'config/gearman.yml': `all:\n  servers: { default: "${gearmand.address}" }\n  atom_worker:\n    dip_output: csv\n    ${section}\n` });
    expect((await cli(['check', '--offline'], { cwd: csv })).stdout).not.toContain(warning);
  });

  it('exits 78 for a configuration error, with the file and key', async () => {
    const bad = tempDir({ 'config/gearman.yml': 'all:\n  servers:\n    default: 127.0.0.1:99999\n' });
    const result = await cli(['check'], { cwd: bad });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('servers.default');
  });
});
