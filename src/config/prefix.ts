// AtoM's function-name prefix: QubitJob::getJobPrefix() is md5(sf_root_dir . app_workers_key) . '-'.
import { createHash } from 'node:crypto';

export function atomJobPrefix(atomRootDir: string, workersKey = ''): string {
  // sf_root_dir never ends in a slash; a trailing one in our config would silently change the hash.
  const root = atomRootDir.length > 1 ? atomRootDir.replace(/\/+$/, '') : atomRootDir;
  return `${createHash('md5').update(root + workersKey).digest('hex')}-`;
}
