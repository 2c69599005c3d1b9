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

/** The service's state folder (the journal): systemd's StateDirectory. */
export function serviceStateDir(name: string, environment: NodeJS.ProcessEnv = process.env): string {
  return path.join(serviceRoot(environment), 'var/lib', name);
}

/** The service's run folder (the sockets): systemd's RuntimeDirectory under /run, upstart's /var/run. */
export function serviceRunDir(name: string, runRoot: '/run' | '/var/run', environment: NodeJS.ProcessEnv = process.env): string {
  return path.join(serviceRoot(environment), runRoot, name);
}

export function serviceJournalPath(stateDir: string): string {
  return path.join(stateDir, 'journal.sqlite');
}

/** The run folders of an installed service (systemd's /run, upstart's /var/run) that exist. */
export function installedServiceRunDirs(environment: NodeJS.ProcessEnv = process.env): string[] {
  return (['/run', '/var/run'] as const).map((runRoot) => serviceRunDir(DEFAULT_SERVICE_NAME, runRoot, environment)).filter((dir) => existsSync(dir));
}

/** The installed service's journal, if there is one. */
export function installedServiceJournal(environment: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = serviceJournalPath(serviceStateDir(DEFAULT_SERVICE_NAME, environment));
  return existsSync(file) ? file : undefined;
}

/**
 * The journal a reading verb should open: the configured one; with nothing configured, the default
 * under the working folder if it exists, else an installed service's.
 */
export function journalToRead<P extends string | undefined>(settings: { journalPath: P; journalPathIsDefault: boolean }, environment: NodeJS.ProcessEnv = process.env): P | string {
  if (settings.journalPath === undefined || !settings.journalPathIsDefault || existsSync(settings.journalPath)) return settings.journalPath;
  return installedServiceJournal(environment) ?? settings.journalPath;
}
