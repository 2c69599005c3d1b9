// What the ingest needs to know of the AtoM site before it writes: the target description (locked
// for the length of the transaction, as its nested set is about to move), the settings AtoM's
// extractor reads, and the level-of-description terms it looks up by name.
import type { AtomSql } from '../../../src/types.js';
import { DipError } from '../util.js';
import { TERM } from './terms.js';

export interface TargetDescription {
  readonly id: number;
  readonly lft: number;
  readonly rgt: number;
  readonly slug: string | null;
  /** Slug of the repository the target holds or inherits (the topmost one, as AtoM finds it), else 'null'. */
  readonly repositorySlug: string;
}

export interface SiteFacts {
  readonly target: TargetDescription;
  /** `defaultPubStatus` (AtoM: draft 159 when absent). */
  readonly publicationStatusId: number;
  /** `upload_dir`, relative to AtoM's root ("uploads"). */
  readonly uploadDir: string;
  /** `reference_image_maxwidth` (480). */
  readonly referenceMaxWidth: number;
}

/** A setting's value (setting + setting_i18n), in the culture given, else any. */
export async function readSetting(sql: AtomSql, name: string, culture: string): Promise<string | undefined> {
  const rows = await sql.query<{ value: string | null }>(
    'SELECT i.value FROM setting s JOIN setting_i18n i ON i.id = s.id WHERE s.name = ? AND s.scope IS NULL ORDER BY i.culture = ? DESC LIMIT 1',
    [name, culture],
  );
  return rows[0]?.value ?? undefined;
}

/** The target's row and slug; FOR UPDATE inside a transaction, so its lft/rgt stay as read until the commit. */
export async function lockTarget(sql: AtomSql, targetId: number): Promise<{ id: number; lft: number; rgt: number; slug: string | null }> {
  const [target] = await sql.query<{ id: number; lft: number | null; rgt: number | null; slug: string | null }>(
    'SELECT io.id, io.lft, io.rgt, s.slug FROM information_object io LEFT JOIN slug s ON s.object_id = io.id WHERE io.id = ? FOR UPDATE',
    [targetId],
  );
  if (target === undefined) throw new DipError(`The target description ${targetId} (objectId) does not exist in AtoM`);
  if (target.lft === null || target.rgt === null) {
    throw new DipError(`The target description ${target.slug ?? targetId} has no nested set position (lft/rgt): run php symfony propel:build-nested-set`);
  }
  return { id: target.id, lft: target.lft, rgt: target.rgt, slug: target.slug };
}

export async function readSiteFacts(sql: AtomSql, targetId: number, culture: string): Promise<SiteFacts> {
  const target = await lockTarget(sql, targetId);
  const [repository] = await sql.query<{ slug: string }>(
    'SELECT s.slug FROM information_object a JOIN slug s ON s.object_id = a.repository_id WHERE a.lft <= ? AND a.rgt >= ? AND a.repository_id IS NOT NULL ORDER BY a.lft LIMIT 1',
    [target.lft, target.rgt],
  );
  const status = Number(await readSetting(sql, 'defaultPubStatus', culture));
  const width = Number(await readSetting(sql, 'reference_image_maxwidth', culture));
  return {
    target: { id: target.id, lft: target.lft, rgt: target.rgt, slug: target.slug, repositorySlug: repository?.slug ?? 'null' },
    publicationStatusId: Number.isSafeInteger(status) && status > 0 ? status : TERM.PUBLICATION_STATUS_DRAFT,
    uploadDir: ((await readSetting(sql, 'upload_dir', culture)) ?? 'uploads').replace(/^\/+|\/+$/g, '') || 'uploads',
    referenceMaxWidth: Number.isSafeInteger(width) && width > 0 ? width : 480,
  };
}
