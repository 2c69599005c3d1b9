// The working folders of a DIP job whose worker was killed: swept when their owner is gone (or,
// without a local owner, after a day), never while it runs; and at worker start, so a SIGKILLed
// job's hard links do not keep the deposit's blocks allocated until the next DIP job.
import { mkdirSync, readdirSync, utimesSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sweepLeftovers } from '../../../jobs/qtSwordPluginWorker/leftovers.js';
import { GearmanClient } from '../../../src/gearman/client.js';
import { type Gearmand, startGearmand } from '../../harness/gearmand.js';
import { isConnected, spawnCli, tempDir } from '../../harness/worker.js';
import { type GenFile, generateDip } from './dipGenerator.js';
import { DIP_FORMAT } from './helpers.js';

const host = hostname().replace(/[^A-Za-z0-9.]/g, '_');

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

describe('DIP leftovers', () => {
  let gearmand: Gearmand | undefined;
  afterAll(async () => {
    await gearmand?.stop();
  });

  it("removes a dead owner's folders and old ownerless ones, and keeps live and recent ones", async () => {
    const root = tempDir();
    const output = path.join(root, 'output');
    const temp = path.join(root, 'tmp');
    const dead = deadPid();
    const names = {
      deadBuild: path.join(output, `.tmp-${host}-${dead}-aB3dE9`),
      deadOld: path.join(output, `.old-${host}-${dead}-0000-uuid-abcdef`),
      deadExtract: path.join(temp, `atom-worker-dip-${host}-${dead}-Zz9Yy8`),
      ours: path.join(output, `.tmp-${host}-${process.pid}-live01`),
      otherHostRecent: path.join(output, `.tmp-elsewhere-1-recent`),
      otherHostOld: path.join(output, `.tmp-elsewhere-1-old000`),
      legacyOld: path.join(output, '.tmp-Qw3rty'),
      aPackage: path.join(output, '1f2e3d4c-0000-4000-8000-000000000000'),
    };
    for (const dir of Object.values(names)) mkdirSync(dir, { recursive: true });
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    for (const dir of [names.otherHostOld, names.legacyOld, names.aPackage]) utimesSync(dir, twoDaysAgo, twoDaysAgo);
    const removed = await sweepLeftovers({ dipOutputDir: output, tempDir: temp });
    expect(removed.sort()).toEqual([names.deadBuild, names.deadOld, names.deadExtract, names.otherHostOld, names.legacyOld].sort());
    expect(readdirSync(output).sort()).toEqual([path.basename(names.aPackage), path.basename(names.ours), path.basename(names.otherHostRecent)].sort());
  });

  it('a SIGKILLed ingest leaves a .tmp- folder that the next worker removes at start', async () => {
    gearmand = await startGearmand();
    const root = tempDir({}, 'dip-leftovers-');
    const deposit = path.join(root, 'deposit');
    const output = path.join(root, 'output');
    mkdirSync(deposit);
    const config = path.join(root, 'gearman.yml');
    // temp_dir does not exist yet: the job makes it, as it makes dip_output_dir.
    await writeFile(config, `all:\n  atom_worker:\n    sword_deposit_dir: ${JSON.stringify(deposit)}\n    dip_output_dir: ${JSON.stringify(output)}\n    temp_dir: ${JSON.stringify(path.join(root, 'tmp', 'dips'))}\n`);
    const files: GenFile[] = Array.from({ length: 10_000 }, (_, i) => ({ path: `f/file-${i}.tif`, uuid: `0000abcd-0000-4000-8000-${i.toString(16).padStart(12, '0')}` }));
    const dip = await generateDip(deposit, { name: 'killed', files });
    const args = ['run', '--servers', gearmand.address, '--config', config, '--log-format', 'json', '--abilities', 'qtSwordPluginWorker', '--no-journal'];
    const first = spawnCli(args, { cwd: root });
    await first.waitForLog(isConnected);
    const client = new GearmanClient([{ host: gearmand.host, port: gearmand.port }]);
    let killed = false;
    const payload = { id: 1, name: 'T', format: DIP_FORMAT, location: `file:///${dip.dipName}`, objectId: 7 };
    const outcome = client.submit('qtSwordPluginWorker', JSON.stringify(payload), {
      // Progress between 0 and the total: the package is being built in its .tmp- folder.
      onStatus: (n, d) => {
        if (!killed && n > 0 && n < d) {
          killed = true;
          first.kill('SIGKILL');
        }
      },
    });
    void outcome.catch(() => undefined);
    await first.exited;
    expect(killed).toBe(true);
    const leftovers = readdirSync(output).filter((name) => name.startsWith('.tmp-'));
    expect(leftovers).toHaveLength(1);
    expect(leftovers[0]).toMatch(new RegExp(`^\\.tmp-${host.replace(/\./g, '\\.')}-${first.pid}-`));

    // gearmand hands the job to the next worker; it is quiet until its start hook has swept.
    const second = spawnCli([...args, '--concurrency', '1'], { cwd: root });
    const swept = await second.waitForLog((line) => line.msg === 'removed the leftovers of killed DIP jobs');
    expect(swept.removed).toEqual([path.join(output, leftovers[0]!)]);
    const done = await outcome;
    expect(done.status).toBe('complete');
    expect(readdirSync(output).filter((name) => name.startsWith('.'))).toEqual([]);
    client.close();
    second.kill('SIGTERM');
    await second.exited;
  }, 60_000);
});
