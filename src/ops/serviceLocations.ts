// Where a worker installed as a service keeps its journal and control sockets (the generated
// systemd unit and upstart job pass these to `run`), so that `quiet`, `resume`, `status --local`
// and `jobs` run from a shell find the service's worker without being told.
import { existsSync } from 'node:fs';
import path from 'node:path';

export const DEFAULT_SERVICE_NAME = 'atom-worker';

/**
 * The filesystem root the service folders are under: `/`, or ATOM_WORKER_SERVICE_ROOT (for a
 * chroot or a package build, and for the tests, which cannot use the real /run).
 */
function serviceRoot(environment: NodeJS.ProcessEnv): string {
  return environment.ATOM_WORKER_SERVICE_ROOT || '/';
}

/** The service's state folder (the journal) and run folder (the sockets): systemd's StateDirectory/RuntimeDirectory. */
export function serviceFolders(name: string, runRoot: '/run' | '/var/run', environment: NodeJS.ProcessEnv = process.env): { stateDir: string; runDir: string } {
  const root = serviceRoot(environment);
  return { stateDir: path.join(root, 'var/lib', name), runDir: path.join(root, runRoot, name) };
}

export function serviceJournalPath(stateDir: string): string {
  return path.join(stateDir, 'journal.sqlite');
}

/** The run folders of an installed service (systemd's /run, upstart's /var/run) that exist. */
export function installedServiceRunDirs(environment: NodeJS.ProcessEnv = process.env): string[] {
  return [serviceFolders(DEFAULT_SERVICE_NAME, '/run', environment).runDir, serviceFolders(DEFAULT_SERVICE_NAME, '/var/run', environment).runDir].filter((dir) => existsSync(dir));
}

/** The installed service's journal, if there is one. */
export function installedServiceJournal(environment: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = serviceJournalPath(serviceFolders(DEFAULT_SERVICE_NAME, '/run', environment).stateDir);
  return existsSync(file) ? file : undefined;
}

/**
 * The journal a reading verb should open: the configured one; with nothing configured, the default
 * under the working folder if it exists, else an installed service's.
 */
export function journalToRead(settings: { journalPath: string | undefined; journalPathIsDefault: boolean }, environment: NodeJS.ProcessEnv = process.env): string | undefined {
  if (settings.journalPath === undefined || !settings.journalPathIsDefault || existsSync(settings.journalPath)) return settings.journalPath;
  return installedServiceJournal(environment) ?? settings.journalPath;
}
