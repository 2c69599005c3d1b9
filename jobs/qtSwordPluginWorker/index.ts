// qtSwordPluginWorker: Archivematica DIP ingest (AtoM's SWORD deposit job).
// Reads the DIP's METS the way AtoM's QubitMetsParser / qtPackageExtractorMETSArchivematicaDIP
// do, and writes a complete AtoM CSV import package into dip_output_dir/<aip-uuid>/.
// Kept cheap to import: the parser, zip reader and the rest load on the first job.
import { defineJob } from '../../src/types.js';
import { type DipPayload, PayloadSchema } from './payload.js';
import type { DipResult } from './ingest.js';

export { PayloadSchema, METS_ARCHIVEMATICA_DIP_FORMAT } from './payload.js';
export type { DipPayload } from './payload.js';
export { DipSettingsSchema, readDipSettings } from './settings.js';
export type { DipSettings } from './settings.js';
export type { DipResult } from './ingest.js';

export default defineJob<DipPayload, DipResult>({
  name: 'qtSwordPluginWorker',
  payload: PayloadSchema,
  run: async (payload, ctx) => {
    const { ingestDip } = await import('./ingest.js');
    return ingestDip(payload, ctx);
  },
  // A worker killed mid-job leaves its working folders behind: sweep them at start (and before each job).
  start: async ({ log, settings }) => {
    const [{ sweepLeftovers }, { readDipSettings }] = await Promise.all([import('./leftovers.js'), import('./settings.js')]);
    const removed = await sweepLeftovers(readDipSettings(settings));
    if (removed.length > 0) log.info({ removed }, 'removed the leftovers of killed DIP jobs');
  },
});
