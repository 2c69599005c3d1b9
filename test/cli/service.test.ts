// `atom-worker service systemd|upstart`: ready-to-install definitions with absolute paths; the systemd
// unit passes `systemd-analyze verify` where that tool exists.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, tempDir } from '../harness/worker.js';
import { cli } from '../ops/helpers.js';

const analyzer = spawnSync('systemd-analyze', ['--version']);
const haveAnalyzer = !analyzer.error && analyzer.status === 0;
if (!haveAnalyzer) console.log('systemd-analyze is not installed: the `systemd-analyze verify` test is skipped');

function configDir(): string {
  return tempDir({ 'config/gearman.yml': 'all:\n  servers:\n    default: 127.0.0.1:4730\n  atom_worker:\n    shutdown_timeout: 120\n' });
}

describe('atom-worker service', () => {
  it('systemd: Type=notify, absolute paths, restart on failure and on recycling (111), stop timeout above the drain', async () => {
    const dir = configDir();
    const result = await cli(['service', 'systemd', '--user', 'atom'], { cwd: dir });
    expect(result.status).toBe(0);
    const unit = result.stdout;
    expect(unit).toMatch(/^Type=notify$/m);
    expect(unit).toMatch(/^NotifyAccess=main$/m);
    expect(unit).toMatch(/^WatchdogSec=60$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^RestartForceExitStatus=111$/m);
    expect(unit).toMatch(/^SuccessExitStatus=111$/m);
    expect(unit).toMatch(/^RestartPreventExitStatus=78$/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    expect(unit).toMatch(/^User=atom$/m);
    expect(unit).toMatch(/^Group=atom$/m);
    expect(unit).toContain(`WorkingDirectory=${dir}\n`);
    const stop = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
    expect(stop).toBeGreaterThan(120);
    const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
    expect(execStart.split(' ').slice(0, 6)).toEqual([process.execPath, '--max-semi-space-size=2', cliPath, 'run', '--config', path.join(dir, 'config', 'gearman.yml')]);
    expect(/^ExecStartPre=(.*)$/m.exec(unit)?.[1]).toContain(`${cliPath} check --config`);
    // A root-owned install folder: the journal and sockets live in folders systemd makes for the user.
    expect(unit).toMatch(/^StateDirectory=atom-worker$/m);
    expect(unit).toMatch(/^RuntimeDirectory=atom-worker$/m);
    expect(execStart).toContain('--journal /var/lib/atom-worker/journal.sqlite --run-dir /run/atom-worker');
    expect(/^ExecStartPre=(.*)$/m.exec(unit)?.[1]).toContain('--offline');
  });

  it('systemd --instances 3: a template unit atom-worker@.service with a client id per instance', async () => {
    const result = await cli(['service', 'systemd', '--instances', '3'], { cwd: configDir() });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('# atom-worker@.service');
    expect(result.stdout).toContain('systemctl enable --now atom-worker@1 atom-worker@2 atom-worker@3');
    expect(result.stdout).toContain('--client-id atom-worker:%H:%i');
    expect(result.stdout).toMatch(/^User=www-data$/m);
  });

  it.skipIf(!haveAnalyzer)('the generated units pass systemd-analyze verify', async () => {
    const dir = configDir();
    for (const [args, name] of [
      [['--user', 'root'], 'atom-worker.service'],
      [['--user', 'root', '--instances', '2'], 'atom-worker@.service'],
    ] as const) {
      const result = await cli(['service', 'systemd', ...args], { cwd: dir });
      const file = path.join(dir, name);
      writeFileSync(file, result.stdout);
      const verify = spawnSync('systemd-analyze', ['verify', name === 'atom-worker@.service' ? `${file.replace('@.service', '@1.service')}` : file], { encoding: 'utf8', cwd: dir });
      if (name === 'atom-worker@.service') {
        // verify wants an instance name: check the template through a copy named as instance 1.
        writeFileSync(file.replace('@.service', '@1.service'), result.stdout);
        const instance = spawnSync('systemd-analyze', ['verify', file.replace('@.service', '@1.service')], { encoding: 'utf8', cwd: dir });
        expect(instance.stderr).toBe('');
        expect(instance.status).toBe(0);
        continue;
      }
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);
    }
  });

  it('upstart: the shape of AtoM\'s atom-worker.conf, with respawn and the log file', async () => {
    const dir = configDir();
    const result = await cli(['service', 'upstart', '--log-file', '/var/log/atom/worker.log'], { cwd: dir });
    expect(result.status).toBe(0);
    const job = result.stdout;
    for (const line of ['start on started mysql', 'stop on runlevel [!2345]', 'respawn', 'respawn limit 5 10', 'setuid www-data', 'setgid www-data', `env LOCATION=${dir}`, `chdir ${dir}`, 'kill signal SIGTERM']) {
      expect(job.split('\n')).toContain(line);
    }
    expect(Number(/^kill timeout (\d+)$/m.exec(job)?.[1])).toBeGreaterThan(120);
    expect(job).toMatch(new RegExp(`^exec ${process.execPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} --max-semi-space-size=2 \\S+ run --config \\S+ --env worker --log-format json --journal /var/lib/atom-worker/journal\\.sqlite --run-dir /var/run/atom-worker >> /var/log/atom/worker\\.log 2>&1$`, 'm'));
    expect(job).toContain('sudo install -d -o www-data -g www-data -m 0700 /var/run/atom-worker');
  });
});
