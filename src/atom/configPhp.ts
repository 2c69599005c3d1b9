// AtoM's config/config.php, read without running PHP. AtoM's installer writes it as
// `<?php … return <var_export of an array>;`, and the database connection is under
// all.propel.param (dsn, username, password, encoding). phpLiteral.ts parses the file; this module
// finds the connection in it, with PDO's rules for the DSN, and names the key of anything missing.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/errors.js';
import { type AtomDatabaseSettings, DEFAULT_DATABASE_CHARSET, databaseEndpoint } from './databaseSettings.js';
import { parsePhpLiteral, type PhpValue } from './phpLiteral.js';

/** Where AtoM keeps it, relative to its root folder. */
export function atomConfigPhpPath(atomRootDir: string): string {
  return path.join(atomRootDir, 'config', 'config.php');
}

/** The parts of a PDO MySQL DSN (`mysql:dbname=atom;host=127.0.0.1;port=3306`) atom-worker uses. */
export interface PdoMysqlDsn {
  readonly dbname?: string;
  readonly host?: string;
  readonly port?: number;
  readonly unixSocket?: string;
  readonly charset?: string;
  readonly user?: string;
  readonly password?: string;
}

/** Keys are case-insensitive and in any order; empty parts and keys PDO's MySQL driver ignores are skipped. Throws Error. */
export function parsePdoMysqlDsn(dsn: string): PdoMysqlDsn {
  const match = /^\s*mysql:(.*)$/is.exec(dsn);
  if (!match) throw new Error(`not a MySQL PDO DSN: expected "mysql:dbname=…;host=…", got one starting "${dsn.split(':')[0]}:"`);
  const parsed: { -readonly [K in keyof PdoMysqlDsn]: PdoMysqlDsn[K] } = {};
  for (const part of match[1]!.split(';')) {
    if (part.trim() === '') continue;
    const equals = part.indexOf('=');
    if (equals < 0) throw new Error(`"${part.trim()}" in the DSN is not key=value`);
    const key = part.slice(0, equals).trim().toLowerCase();
    const value = part.slice(equals + 1).trim();
    switch (key) {
      case 'dbname':
        parsed.dbname = value;
        break;
      case 'host':
        parsed.host = value;
        break;
      case 'port':
        if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new Error(`port "${value}" in the DSN is not a port number 1-65535`);
        parsed.port = Number(value);
        break;
      case 'unix_socket':
        parsed.unixSocket = value;
        break;
      case 'charset':
        parsed.charset = value;
        break;
      case 'user':
        parsed.user = value;
        break;
      case 'password':
        parsed.password = value;
        break;
      default:
        break;
    }
  }
  return parsed;
}

const PARAM = ['all', 'propel', 'param'] as const;

function describeValue(value: PhpValue): string {
  if (value instanceof Map) return 'an array';
  if (value === null) return 'null';
  return `${typeof value}`;
}

/** The value at `keys`, undefined when a level is missing; a level that is not an array is an error. */
function lookup(file: string, root: PhpValue, keys: readonly string[]): PhpValue | undefined {
  let value: PhpValue | undefined = root;
  for (let index = 0; index < keys.length; index += 1) {
    if (!(value instanceof Map)) {
      throw new ConfigError(file, keys.slice(0, index).join('.'), `expected an array, found ${describeValue(value)}`);
    }
    value = value.get(keys[index]!);
    if (value === undefined) return undefined;
  }
  return value;
}

function stringAt(file: string, root: PhpValue, key: string): string | undefined {
  const keys = [...PARAM, key];
  const value = lookup(file, root, keys);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw new ConfigError(file, keys.join('.'), `expected a string, found ${describeValue(value)}`);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ConfigError(file, '', 'not found: set atom_database or check atom_root_dir');
    if (code === 'EACCES' || code === 'EPERM') {
      throw new ConfigError(file, '', "cannot be read (permission denied): let the worker's user read it, or set atom_database");
    }
    if (code === 'EISDIR') throw new ConfigError(file, '', "is a folder, not AtoM's config.php");
    throw new ConfigError(file, '', `cannot be read (${(error as Error).message})`);
  }
}

/**
 * AtoM's database connection from its config.php (`<atom_root_dir>/config/config.php`):
 * all.propel.param.dsn, username, password and encoding, with PDO's rules for the DSN
 * (no host or `localhost` = the Unix socket). Throws ConfigError naming the file and the key.
 */
export function readAtomConfigPhp(file: string): AtomDatabaseSettings {
  const root = parsePhpLiteral(readText(file), file);
  if (!(root instanceof Map)) throw new ConfigError(file, '', `expected the file to return an array, found ${describeValue(root)}`);
  const dsnKey = [...PARAM, 'dsn'].join('.');
  const dsnText = stringAt(file, root, 'dsn');
  if (dsnText === undefined) throw new ConfigError(file, dsnKey, "missing: AtoM's database connection (mysql:dbname=…;host=…) is not in this file");
  let dsn: PdoMysqlDsn;
  try {
    dsn = parsePdoMysqlDsn(dsnText);
  } catch (error) {
    throw new ConfigError(file, dsnKey, (error as Error).message);
  }
  if (dsn.dbname === undefined || dsn.dbname === '') throw new ConfigError(file, dsnKey, 'names no database (dbname=…)');
  // As in PDO, the username and password given beside the DSN win over user= and password= in it.
  const user = stringAt(file, root, 'username') ?? dsn.user;
  if (user === undefined) throw new ConfigError(file, [...PARAM, 'username'].join('.'), 'missing: the MySQL user AtoM connects as');
  return {
    ...databaseEndpoint(dsn.host, dsn.port, dsn.unixSocket),
    database: dsn.dbname,
    user,
    password: stringAt(file, root, 'password') ?? dsn.password ?? '',
    // Propel sends `SET NAMES <encoding>` after connecting, so `encoding` wins over the DSN's charset.
    charset: stringAt(file, root, 'encoding') ?? dsn.charset ?? DEFAULT_DATABASE_CHARSET,
    source: file,
  };
}
