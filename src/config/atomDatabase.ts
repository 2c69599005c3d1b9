// `atom_worker.atom_database`, or AtoM's own config/config.php under atom_root_dir: how the worker
// reaches AtoM's MySQL database, with one message naming the key for each way it can be wrong.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { atomConfigPhpPath, readAtomConfigPhp } from '../atom/configPhp.js';
import { type AtomDatabaseSettings, DEFAULT_DATABASE_CHARSET, databaseEndpoint } from '../atom/databaseSettings.js';
import { ConfigError, describeReadError } from './errors.js';
import { type AtomDatabaseSection, type AtomWorkerSection, knownAtomDatabaseKeys } from './schema.js';

const ATOM_DATABASE = 'atom_worker.atom_database';
/** The keys that describe a connection (`enabled` only switches it). */
const ATOM_DATABASE_CONNECTION_KEYS = ['host', 'port', 'socket', 'user', 'password', 'password_file'] as const;

function fileMissing(file: string): boolean {
  try {
    statSync(file);
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Any other failure (permission denied…) is for readAtomConfigPhp to report.
    return code === 'ENOENT' || code === 'ENOTDIR';
  }
}

/** The first line of `password_file`, read now. */
function readPasswordFile(file: string, passwordFile: string): string {
  const resolved = path.resolve(passwordFile);
  let text: string;
  try {
    text = readFileSync(resolved, 'utf8');
  } catch (error) {
    throw new ConfigError(file, `${ATOM_DATABASE}.password_file`, `cannot read ${resolved} (${describeReadError(error)})`);
  }
  return text.split(/\r?\n/, 1)[0] ?? '';
}

function explicitDatabase(file: string, db: AtomDatabaseSection & { name: string }, warnings: string[]): AtomDatabaseSettings {
  if (db.user === undefined) throw new ConfigError(file, `${ATOM_DATABASE}.user`, 'missing: the MySQL user to connect as');
  if (db.password !== undefined && db.password_file !== undefined) {
    throw new ConfigError(file, `${ATOM_DATABASE}.password_file`, 'set either password or password_file, not both');
  }
  const endpoint = databaseEndpoint(db.host, db.port, db.socket);
  if ('host' in endpoint && db.socket !== undefined) {
    throw new ConfigError(file, `${ATOM_DATABASE}.socket`, `set either socket or host, not both: host ${db.host} is reached over TCP`);
  }
  if ('socket' in endpoint && db.port !== undefined) {
    warnings.push(
      `${file}: ${ATOM_DATABASE}.port: not used: without host (or with host localhost) the connection goes through the Unix socket ${endpoint.socket}; set host: 127.0.0.1 for TCP`,
    );
  }
  return {
    ...endpoint,
    database: db.name,
    user: db.user,
    password: db.password_file !== undefined ? readPasswordFile(file, db.password_file) : (db.password ?? ''),
    charset: DEFAULT_DATABASE_CHARSET,
    source: 'atom_database',
  };
}

/** An explicit `atom_database` (with `name`) wins; else AtoM's config.php under atom_root_dir; else none. */
export function resolveAtomDatabase(file: string, aw: AtomWorkerSection, disabledByFlag: boolean, warnings: string[]): AtomDatabaseSettings | undefined {
  const db: AtomDatabaseSection = aw.atom_database ?? {};
  for (const key of Object.keys(db)) {
    if (!knownAtomDatabaseKeys.has(key)) warnings.push(`${file}: ${ATOM_DATABASE}.${key}: unknown key, ignored`);
  }
  if (disabledByFlag || db.enabled === false) return undefined;
  const { name } = db;
  if (name !== undefined) return explicitDatabase(file, { ...db, name }, warnings);
  const given = ATOM_DATABASE_CONNECTION_KEYS.filter((key) => db[key] !== undefined);
  if (given.length > 0) {
    throw new ConfigError(
      file,
      `${ATOM_DATABASE}.name`,
      `missing: ${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} set, but not the database name (without atom_database.name, the database comes from <atom_root_dir>/config/config.php)`,
    );
  }
  if (aw.atom_root_dir !== undefined) {
    const configPhp = atomConfigPhpPath(path.resolve(aw.atom_root_dir));
    // atom_root_dir may be set only for the function-name prefix, on a host without AtoM's files.
    if (db.enabled !== true && fileMissing(configPhp)) {
      warnings.push(
        `${configPhp}: not found, so AtoM's job rows will not be updated; set ${ATOM_DATABASE} to name the database, or ${ATOM_DATABASE}.enabled: false to go without it`,
      );
      return undefined;
    }
    return readAtomConfigPhp(configPhp);
  }
  if (db.enabled === true) {
    throw new ConfigError(file, `${ATOM_DATABASE}.enabled`, 'true, but neither atom_database.name nor atom_root_dir says where the database is');
  }
  return undefined;
}
