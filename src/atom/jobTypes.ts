// The job types AtoM 2.x submits, and who serves each on each job server. AtoM asks the *last*
// server in config/gearman.yml whether any worker can do a job's function before it submits it;
// when none can, the user gets an HTTP 500 (and an implicit re-index rolls back the edit).
import { formatAddress, type ServerAddress } from '../gearman/address.js';
import { serverWorkers } from '../gearman/admin.js';

export const ATOM_JOB_TYPES = [
  'qtSwordPluginWorker',
  'arFindingAidJob',
  'arObjectMoveJob',
  'arCalculateDescendantDatesJob',
  'arGenerateReportJob',
  'arUpdatePublicationStatusJob',
  'arInheritRightsJob',
  'arFileImportJob',
  'arValidateCsvJob',
  'arInformationObjectCsvExportJob',
  'arInformationObjectXmlExportJob',
  'arActorCsvExportJob',
  'arActorXmlExportJob',
  'arRepositoryCsvExportJob',
  'arPhysicalObjectCsvHoldingsReportJob',
  'arUpdateEsIoDocumentsJob',
  'arUpdateEsActorRelationsJob',
  'arXmlExportSingleFileJob',
] as const;

/** On one server: how many connected atom-worker and other (e.g. `php symfony jobs:worker`) workers can do it. */
export interface ServerCoverage {
  readonly server: string;
  readonly atomWorkers: number;
  readonly otherWorkers: number;
  /** The server could not be asked. */
  readonly error?: string;
}

export interface JobTypeCoverage {
  readonly type: string;
  readonly function: string;
  /** This configuration has a handler for it (a running `atom-worker run` with it registers it). */
  readonly handledHere: boolean;
  readonly servers: readonly ServerCoverage[];
}

/** Our worker connections name themselves `atom-worker:<host>:<pid>…` (SET_CLIENT_ID). */
const isAtomWorker = (clientId: string): boolean => clientId.startsWith('atom-worker:');

export async function atomJobCoverage(
  servers: readonly ServerAddress[],
  prefix: string,
  handledFunctions: ReadonlySet<string>,
  timeoutMs: number,
): Promise<JobTypeCoverage[]> {
  const perServer = await Promise.all(
    servers.map(async (address) => {
      try {
        return { server: formatAddress(address), workers: await serverWorkers(address, timeoutMs) };
      } catch (error) {
        return { server: formatAddress(address), error: (error as Error).message };
      }
    }),
  );
  return ATOM_JOB_TYPES.map((type) => {
    const fn = prefix + type;
    return {
      type,
      function: fn,
      handledHere: handledFunctions.has(fn),
      servers: perServer.map((entry): ServerCoverage => {
        if (!('workers' in entry) || !entry.workers) return { server: entry.server, atomWorkers: 0, otherWorkers: 0, error: entry.error ?? 'not reachable' };
        let atomWorkers = 0;
        let otherWorkers = 0;
        for (const worker of entry.workers) {
          if (!worker.functions.includes(fn)) continue;
          if (isAtomWorker(worker.clientId)) atomWorkers++;
          else otherWorkers++;
        }
        return { server: entry.server, atomWorkers, otherWorkers };
      }),
    };
  });
}

/** One cell: `atom-worker ×2`, `other ×1`, both, `nobody`, or `?` when the server did not answer. */
export function describeCoverage(coverage: ServerCoverage): string {
  if (coverage.error !== undefined) return '?';
  const parts: string[] = [];
  if (coverage.atomWorkers > 0) parts.push(`atom-worker ×${coverage.atomWorkers}`);
  if (coverage.otherWorkers > 0) parts.push(`other ×${coverage.otherWorkers}`);
  return parts.length > 0 ? parts.join(', ') : 'nobody';
}

/** The one-line warning for a type nobody serves on the server AtoM asks. */
export function unservedWarning(coverage: JobTypeCoverage, lastServer: string): string {
  const hint = coverage.handledHere ? 'atom-worker has a handler for it: is `atom-worker run` running?' : 'atom-worker has no handler for it: run `php symfony jobs:worker` for it';
  return `${coverage.type}: nobody serves it on ${lastServer} (the server AtoM asks): AtoM answers HTTP 500 when it is started; ${hint}`;
}
