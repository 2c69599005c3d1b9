// Start-up shared by `run`, `check` and `exec`: settings, job modules, registrations. Throws
// ConfigError / JobLoadError for the CLI to report with exit code 78.
import { type ConfigFlags, type ResolveOptions, resolveSettings, type Settings } from '../config/settings.js';
import { selectRegistrations } from './abilities.js';
import { type LoadedJob, loadJobs } from './loadJobs.js';
import type { Registration } from './worker.js';

export interface Prepared {
  readonly settings: Settings;
  readonly jobs: ReadonlyMap<string, LoadedJob>;
  readonly registrations: readonly Registration[];
  /** Config and ability warnings, to log once a logger exists. */
  readonly warnings: readonly string[];
}

export async function prepare(flags: ConfigFlags, options: ResolveOptions = {}): Promise<Prepared> {
  const settings = resolveSettings(flags, options);
  const jobs = await loadJobs(settings.jobsDirs);
  const selection = selectRegistrations(jobs, settings);
  return { settings, jobs, registrations: selection.registrations, warnings: [...settings.warnings, ...selection.warnings] };
}
