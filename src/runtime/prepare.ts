// Start-up shared by `run`, `check`, `exec` and startWorker: settings, job modules, registrations.
// Throws ConfigError / JobLoadError for the caller to report (the CLI with exit code 78).
import { type ConfigFlags, type ResolveOptions, resolveSettings, type Settings } from '../config/settings.js';
import type { AnyJobDefinition } from '../types.js';
import { selectRegistrations } from './abilities.js';
import { addJob, type LoadedJob, loadJobs, validateDefinition } from './loadJobs.js';
import type { Registration } from './options.js';

export interface Prepared {
  readonly settings: Settings;
  readonly jobs: ReadonlyMap<string, LoadedJob>;
  readonly registrations: readonly Registration[];
  /** Config and ability warnings, to log once a logger exists. */
  readonly warnings: readonly string[];
}

export interface PrepareOptions extends ResolveOptions {
  /**
   * Job definitions given in-process (startWorker's `jobs`), beside the job folders'. With them and no
   * jobs_dirs, the built-in jobs are not loaded.
   */
  readonly jobs?: readonly AnyJobDefinition[];
}

export async function prepare(flags: ConfigFlags, options: PrepareOptions = {}): Promise<Prepared> {
  const settings = resolveSettings(flags, options);
  const given = options.jobs ?? [];
  const jobs = await loadJobs(given.length > 0 && settings.jobsDirsIsDefault ? [] : settings.jobsDirs);
  given.forEach((definition, index) => addJob(jobs, validateDefinition(`jobs[${index}] (given to startWorker)`, definition)));
  const selection = selectRegistrations(jobs, settings);
  return { settings, jobs, registrations: selection.registrations, warnings: [...settings.warnings, ...selection.warnings] };
}
