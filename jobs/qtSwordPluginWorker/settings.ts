// Settings this job reads from the merged `atom_worker:` configuration section.
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const GIB = 1024 * 1024 * 1024;

/** The `atom_worker:` keys the DIP ingest job reads, with their defaults. Unknown keys are ignored. */
export const DipSettingsSchema = z.looseObject({
  /** Folder Archivematica deposits DIPs into (AtoM's `app_sword_deposit_dir`). */
  sword_deposit_dir: z.string().min(1).default('/tmp'),
  /** Where import packages are written; relative paths resolve against process.cwd(). */
  dip_output_dir: z.string().min(1).default('var/dip-output'),
  /** Strip file extensions from titles derived from file names (AtoM's `stripExtensions`). */
  strip_extensions: z.boolean().default(false),
  /** Largest total number of bytes a zip upload may expand to. */
  dip_zip_max_bytes: z.number().int().positive().default(10 * GIB),
  /** Largest number of entries a zip upload may hold. */
  dip_zip_max_entries: z.number().int().positive().default(100_000),
  /** Parent folder for private temporary folders (zip extraction). Defaults to os.tmpdir(). */
  temp_dir: z.string().min(1).optional(),
  /** `database`: write into AtoM's database (the default when it is configured); `csv`: an import package. */
  dip_output: z.enum(['csv', 'database']).optional(),
  /** Database mode: an AIP ingested before is replaced (its descriptions and files removed) instead of refused. */
  dip_replace: z.boolean().default(false),
  /** Database mode: keep the deposit (folder or uploaded zip) after a successful ingest; AtoM removes it. */
  dip_keep_deposit: z.boolean().default(false),
  /** AtoM's installation (sf_root_dir): digital objects go under its uploads folder. */
  atom_root_dir: z.string().min(1).optional(),
});

export interface DipSettings {
  /** Absolute path. */
  swordDepositDir: string;
  /** Absolute path. */
  dipOutputDir: string;
  stripExtensions: boolean;
  zipMaxBytes: number;
  zipMaxEntries: number;
  /** Absolute path. */
  tempDir: string;
  /** Undefined: database when AtoM's database is configured, else csv. */
  output: 'csv' | 'database' | undefined;
  replace: boolean;
  keepDeposit: boolean;
  /** Absolute path, when set. */
  atomRootDir: string | undefined;
}

/**
 * Validate and normalise the DIP settings. Throws a one-line Error naming the bad key.
 */
export function readDipSettings(settings: Readonly<Record<string, unknown>>): DipSettings {
  const parsed = DipSettingsSchema.safeParse(settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join('.') : '?';
    throw new Error(`Invalid atom_worker setting ${where}: ${issue?.message ?? 'invalid value'}`);
  }
  const s = parsed.data;
  return {
    swordDepositDir: path.resolve(s.sword_deposit_dir),
    dipOutputDir: path.resolve(s.dip_output_dir),
    stripExtensions: s.strip_extensions,
    zipMaxBytes: s.dip_zip_max_bytes,
    zipMaxEntries: s.dip_zip_max_entries,
    tempDir: path.resolve(s.temp_dir ?? os.tmpdir()),
    output: s.dip_output,
    replace: s.dip_replace,
    keepDeposit: s.dip_keep_deposit,
    atomRootDir: s.atom_root_dir !== undefined ? path.resolve(s.atom_root_dir) : undefined,
  };
}
