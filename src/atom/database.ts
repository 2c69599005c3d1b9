// The connection to AtoM's MySQL/MariaDB database (mysql2, pure JavaScript): a small pool, every
// statement parameterised and bounded by a timeout, so a paused or unreachable server never holds
// a caller forever, and errors sorted into "try again later" and "this statement is wrong".
import mysql from 'mysql2/promise';
import type { AtomDatabaseSettings } from './databaseSettings.js';

export type { AtomDatabaseSettings } from './databaseSettings.js';

/** A statement that has not answered in this time is abandoned (its connection is dropped). */
export const STATEMENT_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 5000;

export type { SqlValue } from '../types.js';
import type { AtomSql, SqlValue } from '../types.js';

export interface AtomDatabase {
  /** Run one statement; resolves with its rows (SELECT) or its result header. */
  query<T = Record<string, unknown>>(sql: string, values?: readonly SqlValue[]): Promise<T[]>;
  /** `work` on one connection in one transaction; resolves with its result once committed, rolled back if it throws. */
  transaction<T>(work: (sql: AtomSql) => Promise<T>, statementTimeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export function openAtomDatabase(settings: AtomDatabaseSettings, connections: number): AtomDatabase {
  const pool = mysql.createPool({
    ...(settings.socket !== undefined ? { socketPath: settings.socket } : { host: settings.host ?? '127.0.0.1', port: settings.port ?? 3306 }),
    user: settings.user,
    password: settings.password,
    database: settings.database,
    charset: settings.charset === 'utf8mb4' ? 'UTF8MB4_UNICODE_CI' : settings.charset,
    connectionLimit: Math.max(1, connections),
    connectTimeout: CONNECT_TIMEOUT_MS,
    // DATETIME columns are written as local-time strings, as AtoM's PHP writes them.
    dateStrings: true,
    enableKeepAlive: true,
  });
  // An idle pooled connection that dies must not become an uncaught 'error' event.
  pool.on('connection', (connection) => connection.on('error', () => undefined));
  return {
    async query<T>(sql: string, values: readonly SqlValue[] = []): Promise<T[]> {
      const [rows] = await pool.query({ sql, values: [...values], timeout: STATEMENT_TIMEOUT_MS });
      return (Array.isArray(rows) ? rows : [rows]) as T[];
    },
    async transaction<T>(work: (sql: AtomSql) => Promise<T>, statementTimeoutMs = STATEMENT_TIMEOUT_MS): Promise<T> {
      const connection = await pool.getConnection();
      try {
        await connection.query({ sql: 'START TRANSACTION', timeout: STATEMENT_TIMEOUT_MS });
        const result = (await work({
          async query<R>(sql: string, values: readonly SqlValue[] = []): Promise<R[]> {
            const [rows] = await connection.query({ sql, values: [...values], timeout: statementTimeoutMs });
            return (Array.isArray(rows) ? rows : [rows]) as R[];
          },
        })) as T;
        await connection.query({ sql: 'COMMIT', timeout: statementTimeoutMs });
        connection.release();
        return result;
      } catch (error) {
        // A connection that failed mid-transaction is not trusted again: destroy rolls back server-side.
        connection.destroy();
        throw error;
      }
    },
    close: () => pool.end(),
  };
}

interface MysqlError {
  code?: string;
  errno?: number;
  sqlState?: string;
  fatal?: boolean;
}

// Server errors that say "not now" rather than "never": lock wait timeout, deadlock, too many
// connections, server shutting down, read-only while a replica is promoted.
const TRANSIENT_ERRNOS = new Set([1205, 1213, 1040, 1053, 1290, 2002, 2003, 2006, 2013, 1927]);

/** Whether an error means the database could not be reached or was busy (retry later). */
export function isTransientDatabaseError(error: unknown): boolean {
  const failure = error as MysqlError;
  if (failure.fatal === true) return true;
  if (failure.errno !== undefined && TRANSIENT_ERRNOS.has(failure.errno)) return true;
  if (failure.sqlState?.startsWith('08') || failure.sqlState === '40001') return true;
  // No SQL state: a network or protocol error (ECONNREFUSED, ETIMEDOUT, PROTOCOL_SEQUENCE_TIMEOUT…).
  return failure.sqlState === undefined;
}

export function describeDatabaseError(error: unknown): string {
  const failure = error as MysqlError & { message?: string };
  const message = failure.message || failure.code || String(error);
  return failure.code && !message.includes(failure.code) ? `${failure.code}: ${message}` : message;
}
