import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { atomJobPrefix } from '../../src/config/prefix.js';
import { resolveSettings } from '../../src/config/settings.js';
import { tempDir } from '../harness/worker.js';
import { configError } from './configError.js';

function configFile(text: string): string {
  const dir = tempDir();
  const file = path.join(dir, 'gearman.yml');
  writeFileSync(file, text);
  return file;
}

function resolve(text: string, flags: Parameters<typeof resolveSettings>[0] = {}, environment: NodeJS.ProcessEnv = {}) {
  return resolveSettings({ config: configFile(text), ...flags }, { environment });
}

const atomShipped = `
all:
  servers:
    default: 127.0.0.1:4730

  worker_types:
    general:
      - arFindingAidJob
    sword:
      - qtSwordPluginWorker
`;

describe("AtoM's own gearman.yml shape", () => {
  it('reads servers and worker_types from all:', () => {
    const settings = resolve(atomShipped);
    expect(settings.servers).toEqual([{ host: '127.0.0.1', port: 4730 }]);
    expect(settings.workerTypes).toEqual({ general: ['arFindingAidJob'], sword: ['qtSwordPluginWorker'] });
    expect(settings.concurrency).toBe(1);
    expect(settings.prefix).toBe('');
  });

  it('deep-merges all: with the --env section, the later one winning', () => {
    const text = `
all:
  servers: { a: "10.0.0.1:4730" }
  atom_worker: { concurrency: 2, log_level: debug }
worker:
  servers: { b: "[::1]:4731" }
  atom_worker: { concurrency: 4 }
other:
  atom_worker: { concurrency: 9 }
`;
    const settings = resolve(text);
    expect(settings.servers).toEqual([
      { host: '10.0.0.1', port: 4730 },
      { host: '::1', port: 4731 },
    ]);
    expect(settings.concurrency).toBe(4);
    expect(settings.logLevel).toBe('debug');
    expect(resolve(text, { env: 'other' }).concurrency).toBe(9);
    expect(resolve(text, { env: 'all' }).concurrency).toBe(2);
  });

  it('accepts server entries as {host, port} objects and lists', () => {
    expect(resolve('all:\n  servers:\n    x: { host: gm, port: 4000 }\n').servers).toEqual([{ host: 'gm', port: 4000 }]);
    expect(resolve('all:\n  servers: ["a", "b:1"]\n').servers).toEqual([
      { host: 'a', port: 4730 },
      { host: 'b', port: 1 },
    ]);
  });
});

describe('gearman_job_server, the setting AtoM documents', () => {
  it('works at the top level, with several servers and default ports', () => {
    const settings = resolve('gearman_job_server: "gm1,gm2:4731,[::1]"\n');
    expect(settings.servers).toEqual([
      { host: 'gm1', port: 4730 },
      { host: 'gm2', port: 4731 },
      { host: '::1', port: 4730 },
    ]);
  });

  it('works inside a section, and a server named twice counts once', () => {
    const settings = resolve('all:\n  gearman_job_server: 127.0.0.1:4730\n  servers: { default: "127.0.0.1:4730" }\n');
    expect(settings.servers).toEqual([{ host: '127.0.0.1', port: 4730 }]);
  });
});

describe('precedence: flags, then ATOM_WORKER_SERVERS, then the file', () => {
  it('prefers --servers, then the environment variable', () => {
    expect(resolve(atomShipped, { servers: 'flag:1' }, { ATOM_WORKER_SERVERS: 'env:2' }).servers).toEqual([{ host: 'flag', port: 1 }]);
    expect(resolve(atomShipped, {}, { ATOM_WORKER_SERVERS: 'env:2,env3' }).servers).toEqual([
      { host: 'env', port: 2 },
      { host: 'env3', port: 4730 },
    ]);
  });

  it('prefers flags over atom_worker settings', () => {
    const text = 'all:\n  servers: { d: x }\n  atom_worker: { concurrency: 3, shutdown_timeout: 5, max_job_count: 10 }\n';
    const settings = resolve(text, { concurrency: 7, maxJobCount: 2 });
    expect(settings.concurrency).toBe(7);
    expect(settings.maxJobCount).toBe(2);
    expect(settings.shutdownTimeoutMs).toBe(5000);
  });

  it('heartbeat 30 s / 10 s and no server timeouts by default; heartbeat_interval: 0 turns the heartbeat off', () => {
    const defaults = resolve('all:\n  servers: { d: x }\n');
    expect(defaults).toMatchObject({ heartbeatIntervalMs: 30_000, heartbeatTimeoutMs: 10_000, serverTimeouts: false });
    const set = resolve('all:\n  servers: { d: x }\n  atom_worker: { heartbeat_interval: 5, heartbeat_timeout: 2, server_timeouts: true }\n');
    expect(set).toMatchObject({ heartbeatIntervalMs: 5000, heartbeatTimeoutMs: 2000, serverTimeouts: true });
    expect(resolve('all:\n  servers: { d: x }\n  atom_worker: { heartbeat_interval: 0 }\n').heartbeatIntervalMs).toBeUndefined();
    expect(() => resolve('all:\n  servers: { d: x }\n  atom_worker: { heartbeat_timeout: 0 }\n')).toThrow(/heartbeat_timeout/);
  });

  it('runs without a config file when servers come from the environment and no --config was given', () => {
    const cwd = process.cwd();
    process.chdir(tempDir());
    try {
      const settings = resolveSettings({}, { environment: { ATOM_WORKER_SERVERS: 'gm:4730' } });
      expect(settings.configFile).toBeUndefined();
      expect(settings.servers).toEqual([{ host: 'gm', port: 4730 }]);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('function-name prefix', () => {
  it("is AtoM's md5(sf_root_dir . workers_key) . '-'", () => {
    // Known values, computed independently with `printf '%s' /usr/share/nginx/atom | md5sum`.
    const expected = '424b6ef096d623432cfda8de25d8db88-';
    expect(atomJobPrefix('/usr/share/nginx/atom')).toBe(expected);
    expect(atomJobPrefix('/var/www/atom', 'secret')).toBe('11bf05e1078a470c29ce3eea3b4c41f2-');
    expect(atomJobPrefix('/usr/share/nginx/atom/')).toBe(expected);
  });

  it('comes from atom_root_dir (+ workers_key), or job_prefix, never both', () => {
    expect(resolve('all:\n  servers: { d: x }\n  atom_worker: { atom_root_dir: /var/www/atom, workers_key: k }\n').prefix).toBe(
      atomJobPrefix('/var/www/atom', 'k'),
    );
    expect(resolve('all:\n  servers: { d: x }\n  atom_worker: { job_prefix: "site1-" }\n').prefix).toBe('site1-');
    const error = configError(() => resolve('all:\n  servers: { d: x }\n  atom_worker: { job_prefix: a, atom_root_dir: /b }\n'));
    expect(error.message).toContain('atom_worker.job_prefix');
  });
});

describe('errors name the file, the key and the problem', () => {
  it('reports a wrong type with its full key path', () => {
    const text = 'all:\n  servers: { d: x }\n  atom_worker:\n    concurrency: many\n';
    const file = configFile(text);
    const error = configError(() => resolveSettings({ config: file }, { environment: {} }));
    expect(error.message).toBe(`${file}: all.atom_worker.concurrency: expected number, received string`);
  });

  it('names the env section when the problem is there', () => {
    const error = configError(() => resolve('all:\n  servers: { d: x }\nworker:\n  atom_worker: { concurrency: 0 }\n'));
    expect(error.keyPath).toBe('worker.atom_worker.concurrency');
    expect(error.problem).toMatch(/too small/i);
  });

  it('names the server entry that does not parse', () => {
    const error = configError(() => resolve('all:\n  servers:\n    backup: "::1:4730"\n'));
    expect(error.keyPath).toBe('servers.backup');
    expect(error.problem).toMatch(/brackets/);
  });

  it('explains invalid YAML with its line', () => {
    const error = configError(() => resolve('all:\n  servers:\n    a: [unclosed\n'));
    expect(error.message).toMatch(/invalid YAML at line \d+, column \d+/);
  });

  it('says which path was tried when the file is missing', () => {
    const error = configError(() => resolveSettings({ config: '/nonexistent/dir/gearman.yml' }, { environment: {} }));
    expect(error.message).toContain('/nonexistent/dir/gearman.yml');
    expect(error.message).toContain('file not found');
  });

  it('requires a job server', () => {
    const error = configError(() => resolve('all:\n  worker_types: { a: [b] }\n'));
    expect(error.problem).toMatch(/no job server configured/);
  });

  it('refuses a top level that is not a mapping, and a section that is not one', () => {
    expect(configError(() => resolve('- a\n- b\n')).problem).toMatch(/mapping at the top level/);
    expect(configError(() => resolve('all: 5\n')).keyPath).toBe('all');
  });

  it('warns about unknown keys instead of failing, since AtoM keeps its own keys there', () => {
    const { warnings } = parseConfigText('f.yml', 'all:\n  servers: { a: b }\n  mystery: 1\n  atom_worker: { concurency: 2 }\n', 'worker');
    expect(warnings).toEqual(['f.yml: all.mystery: unknown key, ignored', 'f.yml: all.atom_worker.concurency: unknown key, ignored']);
  });
});

describe("AtoM's database: atom_database, else AtoM's config.php, else none", () => {
  const installedConfigPhp = `<?php
// auto-generated by arInstall::configureDatabase()

return array (
  'all' => 
  array (
    'propel' => 
    array (
      'class' => 'sfPropelDatabase',
      'param' => 
      array (
        'encoding' => 'utf8mb4',
        'persistent' => true,
        'pooling' => true,
        'dsn' => 'mysql:dbname=atom;port=3306',
        'username' => 'atom',
        'password' => 'from-config-php',
      ),
    ),
  ),
);
`;

  function atomRoot(configPhp?: string): string {
    return tempDir(configPhp === undefined ? {} : { 'config/config.php': configPhp });
  }

  function withWorker(lines: string): string {
    return `all:\n  servers: { d: x }\n  atom_worker:\n${lines}`;
  }

  it('an explicit atom_database with name wins over config.php', () => {
    const root = atomRoot(installedConfigPhp);
    const settings = resolve(
      withWorker(`    atom_root_dir: ${root}\n    atom_database: { host: 10.0.0.9, port: 3307, name: atom2, user: worker, password: "0123" }\n`),
    );
    expect(settings.atomDatabase).toEqual({ host: '10.0.0.9', port: 3307, database: 'atom2', user: 'worker', password: '0123', charset: 'utf8mb4', source: 'atom_database' });
    expect(settings.prefix).toBe(atomJobPrefix(root));
    expect(settings.warnings).toEqual([]);
  });

  it('without host, or with host localhost, goes through the Unix socket; a port there only warns', () => {
    const socket = resolve(withWorker('    atom_database: { name: atom, user: atom, socket: /var/lib/mysql/mysql.sock }\n'));
    expect(socket.atomDatabase).toMatchObject({ socket: '/var/lib/mysql/mysql.sock', database: 'atom', password: '' });
    const local = resolve(withWorker('    atom_database: { host: localhost, port: 3307, name: atom, user: atom }\n'));
    expect(local.atomDatabase).toMatchObject({ socket: '/run/mysqld/mysqld.sock' });
    expect(local.warnings).toEqual([expect.stringMatching(/atom_worker\.atom_database\.port: not used/)]);
    const both = configError(() => resolve(withWorker('    atom_database: { host: db, socket: /s.sock, name: atom, user: atom }\n')));
    expect(both.keyPath).toBe('atom_worker.atom_database.socket');
  });

  it('reads the first line of password_file at load; a missing one is a configuration error naming it', () => {
    const dir = tempDir({ 'db.pass': 'pa ss:word\nsecond line\n' });
    const passwordFile = path.join(dir, 'db.pass');
    const settings = resolve(withWorker(`    atom_database: { host: db, name: atom, user: atom, password_file: ${passwordFile} }\n`));
    expect(settings.atomDatabase).toMatchObject({ host: 'db', port: 3306, password: 'pa ss:word' });
    const missing = path.join(dir, 'nope.pass');
    const error = configError(() => resolve(withWorker(`    atom_database: { host: db, name: atom, user: atom, password_file: ${missing} }\n`)));
    expect(error.keyPath).toBe('atom_worker.atom_database.password_file');
    expect(error.problem).toBe(`cannot read ${missing} (file not found)`);
    const twice = configError(() =>
      resolve(withWorker(`    atom_database: { host: db, name: atom, user: atom, password: x, password_file: ${passwordFile} }\n`)),
    );
    expect(twice.problem).toMatch(/either password or password_file/);
  });

  it('refuses connection keys without name, a missing user, and a password YAML reads as a number', () => {
    expect(configError(() => resolve(withWorker('    atom_database: { host: db, user: atom }\n'))).keyPath).toBe('atom_worker.atom_database.name');
    expect(configError(() => resolve(withWorker('    atom_database: { name: atom }\n'))).keyPath).toBe('atom_worker.atom_database.user');
    const numeric = configError(() => resolve(withWorker('    atom_database: { name: atom, user: atom, password: 0123 }\n')));
    expect(numeric.keyPath).toBe('all.atom_worker.atom_database.password');
  });

  it("reads <atom_root_dir>/config/config.php when atom_database has no name", () => {
    const root = atomRoot(installedConfigPhp);
    const settings = resolve(withWorker(`    atom_root_dir: ${root}\n`));
    expect(settings.atomDatabase).toEqual({
      socket: '/run/mysqld/mysqld.sock',
      database: 'atom',
      user: 'atom',
      password: 'from-config-php',
      charset: 'utf8mb4',
      source: path.join(root, 'config', 'config.php'),
    });
    expect(settings.warnings).toEqual([]);
    // The credentials are not handed to jobs.
    expect(resolve(withWorker(`    atom_root_dir: ${root}\n    atom_database: { enabled: true }\n`)).jobSettings).not.toHaveProperty('atom_database');
  });

  it('without config.php under atom_root_dir: no database and a warning, not an error', () => {
    const root = atomRoot();
    const settings = resolve(withWorker(`    atom_root_dir: ${root}\n`));
    expect(settings.atomDatabase).toBeUndefined();
    expect(settings.prefix).toBe(atomJobPrefix(root));
    const file = path.join(root, 'config', 'config.php');
    expect(settings.warnings).toEqual([expect.stringContaining(`${file}: not found, so AtoM's job rows will not be updated`)]);
    // Asked for explicitly, the database must be there.
    const error = configError(() => resolve(withWorker(`    atom_root_dir: ${root}\n    atom_database: { enabled: true }\n`)));
    expect(error.message).toBe(`${file}: not found: set atom_database or check atom_root_dir`);
  });

  it('a config.php that cannot be understood is an error', () => {
    const root = atomRoot("<?php\nreturn ['all' => ['propel' => ['param' => ['dsn' => DB_DSN]]]];\n");
    const error = configError(() => resolve(withWorker(`    atom_root_dir: ${root}\n`)));
    expect(error.source).toBe(path.join(root, 'config', 'config.php'));
    expect(error.keyPath).toBe('all.propel.param.dsn');
    expect(error.problem).toMatch(/line 2: a constant \(`DB_DSN`\)/);
  });

  it('enabled: false or --no-atom-database switches it off, config.php unread', () => {
    const root = atomRoot('garbage');
    const off = resolve(withWorker(`    atom_root_dir: ${root}\n    atom_database: { enabled: false, name: atom, user: atom }\n`));
    expect(off.atomDatabase).toBeUndefined();
    expect(off.warnings).toEqual([]);
    expect(resolve(withWorker(`    atom_root_dir: ${root}\n`), { atomDatabase: false }).atomDatabase).toBeUndefined();
  });

  it('is none without atom_root_dir or atom_database; enabled: true alone is an error; unknown keys warn', () => {
    const none = resolve(withWorker('    concurrency: 1\n'));
    expect(none.atomDatabase).toBeUndefined();
    expect(none.warnings).toEqual([]);
    expect(configError(() => resolve(withWorker('    atom_database: { enabled: true }\n'))).keyPath).toBe('atom_worker.atom_database.enabled');
    const typo = resolve(withWorker('    atom_database: { name: atom, user: atom, pasword: x }\n'));
    expect(typo.warnings).toEqual([expect.stringMatching(/atom_worker\.atom_database\.pasword: unknown key, ignored$/)]);
  });
});
