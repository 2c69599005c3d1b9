// `atom-worker exec`: any job handler run once, locally, without a job server.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDip } from '../jobs/qtSwordPluginWorker/dipGenerator.js';
import { cliPath, runCommand, tempDir } from '../harness/worker.js';

const exec = (args: string[], options: { input?: string; cwd?: string } = {}) =>
  runCommand(process.execPath, [cliPath, 'exec', ...args], { timeoutMs: 30_000, cwd: tempDir(), ...options });

describe('atom-worker exec', () => {
  it('runs a job, printing progress, data and warnings on stderr and the result on stdout', async () => {
    const result = await exec(['atomWorkerTest', '{"echo":{"ok":true},"steps":3,"data":["d1"],"warning":"w1"}', '--log-level', 'silent']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('{"ok":true}\n');
    expect(result.stderr).toMatch(/^progress 1\/3\nprogress 2\/3\nprogress 3\/3\ndata d1\nwarning w1\ncompleted in \d+ ms\n$/);
  });

  it('reads the payload from @file and from stdin', async () => {
    const file = path.join(tempDir(), 'payload.json');
    writeFileSync(file, '{"echo":"from file"}');
    expect((await exec(['atomWorkerTest', `@${file}`, '--log-level', 'silent'])).stdout).toBe('from file\n');
    expect((await exec(['atomWorkerTest', '-', '--log-level', 'silent'], { input: '{"echo":"from stdin"}' })).stdout).toBe('from stdin\n');
  });

  it('exits 1 with the reason when the job fails or its payload is refused', async () => {
    const failed = await exec(['atomWorkerTest', '{"fail":"on purpose"}', '--log-level', 'silent']);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/^failed: on purpose \(after \d+ ms\)$/m);
    const refused = await exec(['atomWorkerTest', '{"sleepMs":"x"}', '--log-level', 'silent']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^rejected: payload does not match the atomWorkerTest schema: sleepMs: /m);
  });

  it('exits 64 for an unknown job, naming the loaded ones', async () => {
    const result = await exec(['noSuchJob']);
    expect(result.status).toBe(64);
    expect(result.stderr).toContain('no job named "noSuchJob" (loaded: atomWorkerTest, qtSwordPluginWorker)');
  });

  it('ingests a DIP with the settings of a config file', async () => {
    const deposit = tempDir();
    const output = tempDir();
    const dip = await generateDip(deposit, { files: [{ path: 'a.txt' }, { path: 'b.txt' }] });
    const config = path.join(tempDir(), 'gearman.yml');
    writeFileSync(config, `all:\n  atom_worker:\n    sword_deposit_dir: ${deposit}\n    dip_output_dir: ${output}\n`);
    const payload = { id: 1, name: 'deposit', format: 'http://purl.org/net/sword-types/METSArchivematicaDIP', location: `file:///${dip.dipName}` };
    const result = await exec(['qtSwordPluginWorker', JSON.stringify(payload), '--config', config, '--log-level', 'silent']);
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout) as { aipUuid: string; digitalObjects: number; outputDir: string };
    expect(summary.aipUuid).toBe(dip.aipUuid);
    expect(summary.digitalObjects).toBe(2);
    expect(summary.outputDir).toBe(path.join(output, dip.aipUuid));
    expect(readFileSync(path.join(output, dip.aipUuid, 'descriptions.csv'), 'utf8')).toContain('a.txt');
    expect(result.stderr).toMatch(/progress 2\/2/);
    expect(existsSync(path.join(output, dip.aipUuid, 'manifest.json'))).toBe(true);
  });
});
