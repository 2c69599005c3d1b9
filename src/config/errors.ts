// Configuration problems: one message naming the file, the key path and the problem; exit 78.

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    /** The file (or `--flag` / environment variable) the problem is in. */
    readonly source: string,
    /** Dotted key path, e.g. `all.atom_worker.concurrency`; empty for the whole file. */
    readonly keyPath: string,
    readonly problem: string,
  ) {
    super(keyPath ? `${source}: ${keyPath}: ${problem}` : `${source}: ${problem}`);
  }
}

/** A file read's failure in a few words (file not found, permission denied, is a directory). */
export function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return error instanceof Error ? error.message : String(error);
}
