// A private MariaDB (Debian 12's 10.11) in a temp folder, loaded with AtoM's real schema from
// ../shared/fixtures/atom, so job tests read and write AtoM's own tables rather than a look-alike.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import mysql from 'mysql2/promise';
import { trackChild } from './cleanup.js';
import { freeLowPort } from './gearmand.js';
import { repoRoot, runCommand, tempDir } from './worker.js';

export interface Mariadb {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly socket: string;
  readonly database: 'atom';
  /** The `atom` account (over TCP as atom@127.0.0.1, over the socket as atom@localhost), ALL on atom.*. */
  readonly user: string;
  readonly password: string;
  readonly pid: number;
  /** As root, in database `atom`. A statement without a result set yields [ResultSetHeader] (insertId, affectedRows). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** SIGSTOP: the server stops answering, as a hung database does. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  stop(): Promise<void>;
}

export interface AtomTerm {
  readonly id: number;
  /** The entry's name in taxonomyTerms.yml, e.g. QubitTerm_173. */
  readonly key: string;
  /** The English name, when the entry has one. */
  readonly name: string | null;
}

/** Core schema first: the plugin tables reference its tables (see SOURCES.txt). */
const SCHEMA_FILES = ['lib.model.schema.sql', 'plugins.qbAclPlugin.lib.model.schema.sql', 'plugins.qtAccessionPlugin.lib.model.schema.sql'];
/** AtoM's QubitTerm::JOB_STATUS_IN_PROGRESS_ID, which QubitJob::runJob gives every new job. */
const JOB_STATUS_IN_PROGRESS_ID = 183;
/** Job statuses (in progress, completed, error) and the job error note type. */
const JOB_TERMS = [183, 184, 185, 197];

// Small and fast over durable: the data is thrown away after each test file. Native AIO is off because
// io_uring/libaio setup fails in some containers (RLIMIT_MEMLOCK, seccomp) and the server then refuses to start.
const SERVER_OPTIONS = [
  '--skip-log-bin',
  '--skip-name-resolve',
  '--innodb-buffer-pool-size=32M',
  '--innodb-log-file-size=8M',
  '--innodb-flush-log-at-trx-commit=2',
  '--innodb-doublewrite=0',
  '--innodb-use-native-aio=0',
];

export function atomFixtures(): { dir: string } | { missing: string } {
  const dir = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'atom');
  if (!existsSync(dir)) return { missing: "../shared/fixtures/atom not found: the AtoM database tests need AtoM's schema" };
  const absent = [...SCHEMA_FILES, 'taxonomyTerms.yml'].filter((file) => !existsSync(path.join(dir, file)));
  if (absent.length > 0) return { missing: `../shared/fixtures/atom lacks ${absent.join(', ')}: the AtoM database tests need AtoM's schema` };
  return { dir };
}

function fixturesDir(): string {
  const fixtures = atomFixtures();
  if ('missing' in fixtures) throw new Error(fixtures.missing);
  return fixtures.dir;
}

// Debian puts mariadbd in /usr/sbin, which is not on a normal user's PATH.
const mariadbd = existsSync('/usr/sbin/mariadbd') ? '/usr/sbin/mariadbd' : 'mariadbd';

export async function startMariadb(): Promise<Mariadb> {
  const fixtures = fixturesDir();
  const dir = tempDir({}, 'atom-worker-mariadb-');
  const datadir = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  // mariadbd refuses to run as root unless told to.
  const asUser = process.getuid?.() === 0 ? ['--user=root'] : [];

  // "normal": a passwordless root@localhost whatever the OS user is (the default, unix_socket, ties root to OS root).
  const install = await runCommand(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${datadir}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asUser, ...SERVER_OPTIONS],
    { timeoutMs: 60_000 },
  ).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'ENOENT' ? new Error('mariadb-install-db is missing: apt-get install -y mariadb-server') : error;
  });
  if (install.status !== 0) throw new Error(`mariadb-install-db failed (${install.status ?? install.signal}):\n${install.stderr.slice(-4000)}${install.stdout.slice(-2000)}`);

  let child: ChildProcess | undefined;
  let root: mysql.Connection | undefined;
  let port = 0;
  let log = '';
  for (let attempt = 0; !root; attempt++) {
    port = await freeLowPort();
    log = '';
    const args = ['--no-defaults', `--datadir=${datadir}`, `--socket=${socket}`, `--port=${port}`, '--bind-address=127.0.0.1', `--pid-file=${path.join(dir, 'mysqld.pid')}`, ...asUser, ...SERVER_OPTIONS];
    const server = trackChild(spawn(mariadbd, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    // Without --log-error the server logs to stderr; keep the tail for error messages.
    server.stderr!.setEncoding('utf8').on('data', (chunk: string) => (log = (log + chunk).slice(-20_000)));
    try {
      root = await connectWhenReady(socket, server, () => log);
      child = server;
    } catch (error) {
      // freeLowPort's answer can go stale before mariadbd binds: another test may take the port meanwhile.
      if (attempt < 3 && /Address already in use/.test(log)) continue;
      throw error;
    }
  }
  const server = child!;
  const connection = root;
  // A server killed under the connection would otherwise emit an unhandled 'error'.
  connection.on('error', () => undefined);

  const password = randomBytes(18).toString('base64url');
  await connection.query('CREATE DATABASE atom CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; USE atom');
  for (const file of SCHEMA_FILES) {
    // The files start with SET FOREIGN_KEY_CHECKS = 0 and use # comments; the server takes them as they are.
    await connection.query(readFileSync(path.join(fixtures, file), 'utf8'));
  }
  await connection.query('SET FOREIGN_KEY_CHECKS = 1');
  // New objects (jobs, notes, terms without a fixed id) get ids above AtoM's fixed ones, as after AtoM's installer.
  await connection.query(`ALTER TABLE object AUTO_INCREMENT = ${taxonomyFixtures(fixtures).maxId + 1}`);
  await connection.query(
    "CREATE USER 'atom'@'127.0.0.1' IDENTIFIED BY ?; CREATE USER 'atom'@'localhost' IDENTIFIED BY ?; GRANT ALL ON atom.* TO 'atom'@'127.0.0.1', 'atom'@'localhost'",
    [password, password],
  );

  const exited = new Promise<void>((resolve) => {
    if (server.exitCode !== null || server.signalCode !== null) resolve();
    else server.once('exit', () => resolve());
  });
  const alive = (): boolean => server.exitCode === null && server.signalCode === null;
  let stopped = false;
  const db: Mariadb = {
    host: '127.0.0.1',
    port,
    socket,
    database: 'atom',
    user: 'atom',
    password,
    pid: server.pid!,
    async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
      const [result] = (await connection.query(sql, params)) as unknown as [unknown, unknown];
      return (Array.isArray(result) ? result : [result]) as T[];
    },
    pause: () => void server.kill('SIGSTOP'),
    resume: () => void server.kill('SIGCONT'),
    async stop() {
      if (stopped) return;
      stopped = true;
      // A stopped process does not act on SIGTERM until continued.
      if (alive()) server.kill('SIGCONT');
      connection.destroy();
      if (alive()) {
        server.kill('SIGTERM');
        const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await loadTerms(db, JOB_TERMS);
  } catch (error) {
    await db.stop();
    throw error;
  }
  return db;
}

async function connectWhenReady(socketPath: string, server: ChildProcess, log: () => string, timeoutMs = 20_000): Promise<mysql.Connection> {
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.exitCode !== null || server.signalCode !== null) {
      await closed; // the last of stderr arrives before 'close'
      throw new Error(`mariadbd exited (${server.exitCode ?? server.signalCode}) before accepting connections:\n${log()}`);
    }
    try {
      return await mysql.createConnection({ socketPath, user: 'root', multipleStatements: true });
    } catch (error) {
      if (Date.now() > deadline) {
        server.kill('SIGKILL');
        throw new Error(`mariadbd did not accept connections on ${socketPath} within ${timeoutMs} ms (${(error as Error).message}):\n${log()}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What QubitJob::runJob saves before submitting the job to gearmand: an object row, then the job row, committed together. */
export async function insertAtomJob(db: Mariadb, fields: { name: string; userId?: number | null; objectId?: number | null }): Promise<number> {
  const results = await db.query<unknown>(
    "START TRANSACTION; INSERT INTO object (class_name, created_at, updated_at) VALUES ('QubitJob', NOW(), NOW()); " +
      'INSERT INTO job (id, name, status_id, user_id, object_id) VALUES (LAST_INSERT_ID(), ?, ?, ?, ?); COMMIT; SELECT LAST_INSERT_ID() AS id',
    [fields.name, JOB_STATUS_IN_PROGRESS_ID, fields.userId ?? null, fields.objectId ?? null],
  );
  return Number((results.at(-1) as Array<{ id: number }>)[0]!.id);
}

// --- AtoM's fixed taxonomies and terms (data/fixtures/taxonomyTerms.yml) ---

interface YmlEntry {
  id?: number;
  taxonomy_id?: number | string;
  parent_id?: number | string;
  source_culture?: string;
  code?: string;
  name?: Record<string, string>;
  note?: Record<string, string>;
}

interface TaxonomyFixtures {
  taxonomies: Record<string, YmlEntry>;
  terms: Record<string, YmlEntry>;
  maxId: number;
}

let parsed: TaxonomyFixtures | undefined;

function taxonomyFixtures(dir = fixturesDir()): TaxonomyFixtures {
  if (parsed) return parsed;
  const data = yaml.load(readFileSync(path.join(dir, 'taxonomyTerms.yml'), 'utf8')) as Record<string, Record<string, YmlEntry>>;
  const taxonomies = data.QubitTaxonomy ?? {};
  const terms = data.QubitTerm ?? {};
  const ids = [...Object.values(taxonomies), ...Object.values(terms)].map((entry) => entry.id ?? 0);
  parsed = { taxonomies, terms, maxId: Math.max(0, ...ids) };
  return parsed;
}

/** An entry's key from a reference: a symbolic key (QubitTaxonomy_10) or a fixed id (30). */
function keyOf(table: Record<string, YmlEntry>, ref: number | string, what: string): string {
  if (typeof ref === 'string') {
    if (!table[ref]) throw new Error(`taxonomyTerms.yml has no ${what} ${ref}`);
    return ref;
  }
  const found = Object.entries(table).find(([, entry]) => entry.id === ref);
  if (!found) throw new Error(`taxonomyTerms.yml has no ${what} with id ${ref}`);
  return found[0];
}

// Per instance, the rows already inserted (key → id). Promises, so concurrent loads share one insert.
const inserted = new WeakMap<Mariadb, Map<string, Promise<number>>>();

function once(db: Mariadb, key: string, insert: () => Promise<number>): Promise<number> {
  let done = inserted.get(db);
  if (!done) inserted.set(db, (done = new Map()));
  let row = done.get(key);
  if (!row) done.set(key, (row = insert()));
  return row;
}

/** The object row every Qubit entity has; with no fixed id, a fresh one (the object table's AUTO_INCREMENT). */
async function insertObject(db: Mariadb, className: string, id: number | undefined): Promise<number> {
  const [result] = await db.query<{ insertId: number }>('INSERT INTO object (class_name, created_at, updated_at, id) VALUES (?, NOW(), NOW(), ?)', [className, id ?? null]);
  return id ?? result!.insertId;
}

// Parents first, so the foreign keys hold without turning checks off.
function ensureTaxonomy(db: Mariadb, key: string): Promise<number> {
  return once(db, `taxonomy ${key}`, async () => {
    const entry = taxonomyFixtures().taxonomies[key]!;
    const parentId = entry.parent_id === undefined ? null : await ensureTaxonomy(db, keyOf(taxonomyFixtures().taxonomies, entry.parent_id, 'taxonomy'));
    const id = await insertObject(db, 'QubitTaxonomy', entry.id);
    await db.query('INSERT INTO taxonomy (id, parent_id, source_culture) VALUES (?, ?, ?)', [id, parentId, entry.source_culture ?? 'en']);
    if (entry.name?.en !== undefined || entry.note?.en !== undefined) {
      await db.query("INSERT INTO taxonomy_i18n (id, culture, name, note) VALUES (?, 'en', ?, ?)", [id, entry.name?.en ?? null, entry.note?.en ?? null]);
    }
    return id;
  });
}

// lft/rgt (AtoM's nested set) stay NULL: AtoM's installer computes them, and no job reads them.
function ensureTerm(db: Mariadb, key: string): Promise<number> {
  return once(db, `term ${key}`, async () => {
    const { taxonomies, terms } = taxonomyFixtures();
    const entry = terms[key]!;
    if (entry.taxonomy_id === undefined) throw new Error(`taxonomyTerms.yml: ${key} has no taxonomy_id`);
    const taxonomyId = await ensureTaxonomy(db, keyOf(taxonomies, entry.taxonomy_id, 'taxonomy'));
    const parentId = entry.parent_id === undefined ? null : await ensureTerm(db, keyOf(terms, entry.parent_id, 'term'));
    const id = await insertObject(db, 'QubitTerm', entry.id);
    await db.query('INSERT INTO term (id, taxonomy_id, code, parent_id, source_culture) VALUES (?, ?, ?, ?, ?)', [id, taxonomyId, entry.code ?? null, parentId, entry.source_culture ?? 'en']);
    if (entry.name?.en !== undefined) await db.query("INSERT INTO term_i18n (id, culture, name) VALUES (?, 'en', ?)", [id, entry.name.en]);
    return id;
  });
}

/** Insert AtoM's terms with these fixed ids, with their taxonomies and parent terms (culture en). */
export async function loadTerms(db: Mariadb, ids: readonly number[]): Promise<void> {
  const { terms } = taxonomyFixtures();
  for (const id of ids) await ensureTerm(db, keyOf(terms, id, 'term'));
}

/**
 * Insert every term of a taxonomy (e.g. 34, levels of description). Terms the yml gives no id get a fresh one,
 * as AtoM's installer does, so callers find them by name or key in the result.
 */
export async function loadTaxonomyTerms(db: Mariadb, taxonomyId: number): Promise<AtomTerm[]> {
  const { taxonomies, terms } = taxonomyFixtures();
  const taxonomyKey = keyOf(taxonomies, taxonomyId, 'taxonomy');
  const members = Object.entries(terms).filter(([, entry]) => entry.taxonomy_id !== undefined && keyOf(taxonomies, entry.taxonomy_id, 'taxonomy') === taxonomyKey);
  const loaded: AtomTerm[] = [];
  for (const [key, entry] of members) loaded.push({ id: await ensureTerm(db, key), key, name: entry.name?.en ?? null });
  return loaded;
}

/** Insert AtoM's taxonomies with these fixed ids (and their parents), without their terms. */
export async function loadTaxonomies(db: Mariadb, ids: readonly number[]): Promise<void> {
  const { taxonomies } = taxonomyFixtures();
  for (const id of ids) await ensureTaxonomy(db, keyOf(taxonomies, id, 'taxonomy'));
}
