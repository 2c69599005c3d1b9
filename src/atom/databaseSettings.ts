// How to reach AtoM's MySQL database: from `atom_worker.atom_database`, or from AtoM's own config/config.php.

export const DEFAULT_MYSQL_PORT = 3306;
/** libmysqlclient's and PHP's (pdo_mysql.default_socket) default on Debian and Ubuntu. */
export const DEFAULT_MYSQL_SOCKET = '/run/mysqld/mysqld.sock';
export const DEFAULT_DATABASE_CHARSET = 'utf8mb4';

export interface AtomDatabaseSettings {
  /** TCP host; undefined when `socket` is set. */
  readonly host?: string;
  /** TCP port; undefined when `socket` is set. */
  readonly port?: number;
  /** Unix socket path; undefined for TCP. */
  readonly socket?: string;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** The connection character set; utf8mb4 unless configured otherwise. */
  readonly charset: string;
  /** The file or `atom_database` these settings came from, for messages. */
  readonly source: string;
}

export type DatabaseEndpoint = { readonly host: string; readonly port: number } | { readonly socket: string };

/**
 * PDO's (mysqlnd's) rule: no host, or the host `localhost`, is the local Unix socket (the given one,
 * else the default) and the port is not used; any other host, `127.0.0.1` included, is TCP.
 */
export function databaseEndpoint(host: string | undefined, port: number | undefined, socket: string | undefined): DatabaseEndpoint {
  if (host === undefined || host === '' || host.toLowerCase() === 'localhost') return { socket: socket ?? DEFAULT_MYSQL_SOCKET };
  return { host, port: port ?? DEFAULT_MYSQL_PORT };
}

/** `user@host:port/database` or `user@/path/to/socket/database`, for logs and messages; never the password. */
export function describeDatabase(settings: AtomDatabaseSettings): string {
  let where: string;
  if (settings.socket !== undefined) {
    where = settings.socket;
  } else {
    const host = settings.host ?? '127.0.0.1';
    where = `${host.includes(':') ? `[${host}]` : host}:${settings.port ?? DEFAULT_MYSQL_PORT}`;
  }
  return `${settings.user}@${where}/${settings.database}`;
}
