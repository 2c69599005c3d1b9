// Which loaded jobs to register, under which final function names: AtoM's --abilities / --types
// selection and its md5 prefix.
import { ConfigError } from '../config/errors.js';
import type { Settings } from '../config/settings.js';
import type { LoadedJob } from './loadJobs.js';
import { type Registration, serverTimeoutFor } from './options.js';

export interface Selection {
  readonly registrations: Registration[];
  /** `Ability not defined: X` lines, as AtoM's worker prints them. */
  readonly warnings: string[];
}

type SelectionSettings = Pick<Settings, 'abilities' | 'types' | 'workerTypes' | 'prefix' | 'jobTimeoutMs' | 'configFile'>;

export function selectRegistrations(jobs: ReadonlyMap<string, LoadedJob>, settings: SelectionSettings): Selection {
  const warnings: string[] = [];
  let names: string[];
  if (settings.abilities.length > 0) {
    names = [...settings.abilities];
  } else if (settings.types.length > 0) {
    names = [];
    for (const type of settings.types) {
      const members = settings.workerTypes[type];
      if (members === undefined) {
        const known = Object.keys(settings.workerTypes);
        throw new ConfigError(
          '--types',
          '',
          `unknown worker type "${type}"; ${settings.configFile ?? 'the configuration'} defines ${known.length > 0 ? known.join(', ') : 'no worker_types'}`,
        );
      }
      names.push(...members);
    }
  } else {
    names = [...jobs.keys()];
  }

  const registrations: Registration[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    const job = jobs.get(name);
    if (!job) {
      warnings.push(`Ability not defined: ${name}`);
      continue;
    }
    registrations.push({ functionName: settings.prefix + name, job, timeoutMs: job.timeoutMs ?? settings.jobTimeoutMs });
  }
  if (registrations.length === 0) {
    const loaded = [...jobs.keys()];
    throw new ConfigError(
      settings.abilities.length > 0 ? '--abilities' : settings.types.length > 0 ? '--types' : 'jobs',
      '',
      `nothing to register: no selected ability has a handler (loaded jobs: ${loaded.length > 0 ? loaded.join(', ') : 'none'})`,
    );
  }
  return { registrations, warnings };
}

/** The registrations as `run`'s start-up line and `check` list them. */
export function describeRegistrations(registrations: readonly Registration[], serverTimeouts = false): Array<{ job: string; function: string; timeout_ms?: number; server_timeout_ms?: number }> {
  return registrations.map((registration) => ({
    job: registration.job.name,
    function: registration.functionName,
    ...(registration.timeoutMs !== undefined ? { timeout_ms: registration.timeoutMs } : {}),
    ...(registration.timeoutMs !== undefined && serverTimeouts ? { server_timeout_ms: serverTimeoutFor(registration.timeoutMs) } : {}),
  }));
}
