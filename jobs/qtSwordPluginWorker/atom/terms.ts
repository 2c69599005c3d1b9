// AtoM's fixed term ids (data/fixtures/taxonomyTerms.yml), and the terms and actors an ingest finds
// by name or creates: levels of description, subjects, places, Dublin Core types, creators.
// Names match as AtoM's queries match them, through the database's case- and accent-blind
// collation; new terms go under the root term, as QubitTerm::save puts them.
import type { AtomSql, SqlValue } from '../../../src/types.js';
import type { RowInserter } from './rows.js';
import { allocateSlugs, slugTable } from './slug.js';

export const TERM = {
  ROOT: 110,
  EVENT_CREATION: 111,
  EVENT_PUBLICATION: 114,
  EVENT_CONTRIBUTION: 115,
  MEDIA_AUDIO: 135,
  MEDIA_IMAGE: 136,
  MEDIA_TEXT: 137,
  MEDIA_VIDEO: 138,
  MEDIA_OTHER: 139,
  USAGE_MASTER: 140,
  USAGE_REFERENCE: 141,
  USAGE_THUMBNAIL: 142,
  STATUS_TYPE_PUBLICATION: 158,
  PUBLICATION_STATUS_DRAFT: 159,
  RELATION_AIP: 178,
} as const;

export const TAXONOMY = { LEVEL_OF_DESCRIPTION: 34, SUBJECT: 35, PLACE: 42, DC_TYPE: 54 } as const;
export const ROOT_ACTOR = 3;

/** utf8mb4_unicode_ci, near enough: case, accents and trailing spaces do not count. */
export function collationKey(name: string): string {
  return name.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase().trimEnd();
}

export interface Stamp {
  /** `created_at`/`updated_at`, as AtoM's PHP writes them (local time). */
  readonly now: string;
  readonly culture: string;
}

/** Existing terms of a taxonomy whose names are in `names` (any culture), by collation key. */
export async function findTerms(sql: AtomSql, taxonomyId: number, names: readonly string[]): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (let i = 0; i < names.length; i += 500) {
    const batch = names.slice(i, i + 500);
    const rows = await sql.query<{ id: number; name: string }>(
      `SELECT t.id, n.name FROM term t JOIN term_i18n n ON n.id = t.id WHERE t.taxonomy_id = ? AND n.name IN (${batch.map(() => '?').join(', ')}) ORDER BY t.id`,
      [taxonomyId, ...batch],
    );
    for (const row of rows) if (!found.has(collationKey(row.name))) found.set(collationKey(row.name), row.id);
  }
  return found;
}

/**
 * Terms for these names in a taxonomy: found, or created under the root term (object, term, slug,
 * term_i18n). The root's nested set makes room for all of them at once.
 */
export async function ensureTerms(sql: AtomSql, inserter: RowInserter, stamp: Stamp, taxonomyId: number, names: readonly string[]): Promise<Map<string, number>> {
  const found = await findTerms(sql, taxonomyId, names);
  const missing: string[] = [];
  const seen = new Set(found.keys());
  for (const name of names) {
    const key = collationKey(name);
    if (seen.has(key)) continue;
    seen.add(key);
    missing.push(name);
  }
  if (missing.length === 0) return found;
  const [root] = await sql.query<{ rgt: number | null }>('SELECT rgt FROM term WHERE id = ? FOR UPDATE', [TERM.ROOT]);
  const rootRgt = root?.rgt ?? null;
  if (rootRgt !== null) {
    const width = 2 * missing.length;
    await sql.query('UPDATE term SET lft = lft + ? WHERE lft >= ?', [width, rootRgt]);
    await sql.query('UPDATE term SET rgt = rgt + ? WHERE rgt >= ?', [width, rootRgt]);
  }
  const ids = await inserter.insert('object', ['class_name', 'created_at', 'updated_at'], missing.map(() => ['QubitTerm', stamp.now, stamp.now]));
  await inserter.insert(
    'term',
    ['id', 'taxonomy_id', 'parent_id', 'lft', 'rgt', 'source_culture'],
    missing.map((_, i): SqlValue[] => [ids[i]!, taxonomyId, TERM.ROOT, rootRgt === null ? null : rootRgt + 2 * i, rootRgt === null ? null : rootRgt + 2 * i + 1, stamp.culture]),
  );
  const slugs = await allocateSlugs(missing, slugTable(sql));
  await inserter.insert('slug', ['object_id', 'slug'], missing.map((_, i) => [ids[i]!, slugs[i]!]));
  await inserter.insert('term_i18n', ['name', 'id', 'culture'], missing.map((name, i) => [name, ids[i]!, stamp.culture]));
  missing.forEach((name, i) => found.set(collationKey(name), ids[i]!));
  return found;
}

/**
 * Actors for these names: any `actor` row with that authorized form of name (as
 * QubitActor::getByAuthorizedFormOfName looks, in any culture), else a new one under the root actor.
 */
export async function ensureActors(sql: AtomSql, inserter: RowInserter, stamp: Stamp, names: readonly string[]): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const unique = [...new Map(names.map((name) => [collationKey(name), name])).values()];
  for (let i = 0; i < unique.length; i += 500) {
    const batch = unique.slice(i, i + 500);
    const rows = await sql.query<{ id: number; name: string }>(
      `SELECT a.id, n.authorized_form_of_name AS name FROM actor a JOIN actor_i18n n ON n.id = a.id WHERE n.authorized_form_of_name IN (${batch.map(() => '?').join(', ')}) ORDER BY a.id`,
      batch,
    );
    for (const row of rows) if (!found.has(collationKey(row.name))) found.set(collationKey(row.name), row.id);
  }
  const missing = unique.filter((name) => !found.has(collationKey(name)));
  if (missing.length === 0) return found;
  const ids = await inserter.insert('object', ['class_name', 'created_at', 'updated_at'], missing.map(() => ['QubitActor', stamp.now, stamp.now]));
  await inserter.insert('actor', ['id', 'parent_id', 'source_culture'], missing.map((_, i) => [ids[i]!, ROOT_ACTOR, stamp.culture]));
  const slugs = await allocateSlugs(missing, slugTable(sql));
  await inserter.insert('slug', ['object_id', 'slug'], missing.map((_, i) => [ids[i]!, slugs[i]!]));
  await inserter.insert('actor_i18n', ['authorized_form_of_name', 'id', 'culture'], missing.map((name, i) => [name, ids[i]!, stamp.culture]));
  missing.forEach((name, i) => found.set(collationKey(name), ids[i]!));
  return found;
}
