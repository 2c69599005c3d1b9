// The payload AtoM's SWORD deposit action sends with a qtSwordPluginWorker job.
import { z } from 'zod';

/** The only package format this job handles. */
export const METS_ARCHIVEMATICA_DIP_FORMAT = 'http://purl.org/net/sword-types/METSArchivematicaDIP';

const optionalString = z.string().nullish();

/** AtoM adds keys of its own (information_object_id, type, ...); they are kept, not refused. */
export const PayloadSchema = z.looseObject({
  id: z.union([z.number(), z.string()]),
  name: optionalString,
  format: z.string(),
  /** `file:///<DIP folder name>`: a DIP deposited by reference into sword_deposit_dir. */
  location: optionalString,
  /** An uploaded zip, looked up by its base name inside sword_deposit_dir. */
  filename: optionalString,
  suggested_name: optionalString,
  checksum_md5: optionalString,
  objectId: z.union([z.number(), z.string()]).nullish(),
  /** Slug of the existing AtoM description the new descriptions go under (qubitParentSlug). */
  parentSlug: optionalString,
});

export type DipPayload = z.infer<typeof PayloadSchema>;
