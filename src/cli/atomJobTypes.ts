// The table `check` and `status` print on an AtoM site: each AtoM job type, whether this
// configuration has a handler for it, and who serves it on each job server.
import { describeCoverage, type JobTypeCoverage } from '../atom/jobTypes.js';
import type { Settings } from '../config/settings.js';
import { formatTable } from './table.js';

/** An AtoM site: AtoM's prefix or AtoM's database is configured. */
export function isAtomSite(settings: Settings): boolean {
  return settings.atomDatabase !== undefined || settings.jobSettings.atom_root_dir !== undefined;
}

export function renderAtomJobTypes(coverage: readonly JobTypeCoverage[], servers: readonly string[]): string {
  return formatTable(
    ['ATOM JOB TYPE', 'HANDLER HERE', ...servers],
    coverage.map((entry) => [entry.type, entry.handledHere ? 'yes' : 'no', ...entry.servers.map(describeCoverage)]),
  );
}
