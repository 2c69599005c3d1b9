// An AtoM site in the private MariaDB, as far as the DIP ingest needs one: the root description
// (id 1) and root actor (3), the fixed terms and taxonomies it refers to, the settings it reads
// (from ../shared/fixtures/atom/settings.yml), descriptions to deposit into, and a check of the
// nested set the way AtoM relies on it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { atomFixtures, loadTaxonomies, loadTaxonomyTerms, loadTerms, type Mariadb } from './mariadb.js';

/** Event types, media types, usages, publication status, AIP relation. */
const INGEST_TERMS = [110, 111, 114, 115, 135, 136, 137, 138, 139, 140, 141, 142, 158, 159, 160, 178];
/** Levels of description and Dublin Core types: every term (AtoM gives the levels no fixed ids). */
const INGEST_TAXONOMIES = [34, 54];
/** Subjects and places start empty in AtoM. */
const EMPTY_TAXONOMIES = [35, 42];
/** The settings the ingest reads. */
const INGEST_SETTINGS = ['defaultPubStatus', 'upload_dir', 'reference_image_maxwidth'];

export interface SeededSite {
  /** Levels of description by English name. */
  readonly levels: ReadonlyMap<string, number>;
}

function settingsFixture(): Record<string, { name?: string; scope?: string; value?: unknown }> {
  const fixtures = atomFixtures();
  if ('missing' in fixtures) throw new Error(fixtures.missing);
  // One entry is `value: -`, which strict YAML refuses (see SOURCES.txt): quote it.
  const text = readFileSync(path.join(fixtures.dir, 'settings.yml'), 'utf8').replace(/^(\s+value:) -\s*$/m, '$1 "-"');
  const data = yaml.load(text) as { QubitSetting?: Record<string, { name?: string; scope?: string; value?: unknown }> };
  return data.QubitSetting ?? {};
}

export async function seedAtomSite(db: Mariadb): Promise<SeededSite> {
  await db.query("INSERT INTO object (id, class_name, created_at, updated_at) VALUES (1, 'QubitInformationObject', NOW(), NOW()), (3, 'QubitActor', NOW(), NOW())");
  await db.query("INSERT INTO information_object (id, lft, rgt, source_culture) VALUES (1, 1, 2, 'en')");
  await db.query("INSERT INTO actor (id, source_culture) VALUES (3, 'en')");
  await loadTerms(db, INGEST_TERMS);
  const levels = new Map<string, number>();
  for (const taxonomy of INGEST_TAXONOMIES) {
    const terms = await loadTaxonomyTerms(db, taxonomy);
    if (taxonomy === 34) for (const term of terms) if (term.name !== null) levels.set(term.name, term.id);
  }
  await loadTaxonomies(db, EMPTY_TAXONOMIES);
  await db.query("UPDATE term SET lft = 1, rgt = 2 WHERE id = 110");
  for (const entry of Object.values(settingsFixture())) {
    if (entry.name === undefined || !INGEST_SETTINGS.includes(entry.name) || entry.scope !== undefined) continue;
    const [row] = await db.query<{ insertId: number }>("INSERT INTO setting (name, source_culture) VALUES (?, 'en')", [entry.name]);
    await db.query("INSERT INTO setting_i18n (value, id, culture) VALUES (?, ?, 'en')", [String(entry.value), row!.insertId]);
  }
  return { levels };
}

/** A description as AtoM saves one: last child of `parentId`, the nested set shifted to make room. */
export async function addDescription(db: Mariadb, parentId: number, title: string, slug: string, options: { repositoryId?: number } = {}): Promise<number> {
  const [parent] = await db.query<{ rgt: number }>('SELECT rgt FROM information_object WHERE id = ?', [parentId]);
  const at = parent!.rgt;
  await db.query('UPDATE information_object SET lft = lft + 2 WHERE lft >= ?', [at]);
  await db.query('UPDATE information_object SET rgt = rgt + 2 WHERE rgt >= ?', [at]);
  const [object] = await db.query<{ insertId: number }>("INSERT INTO object (class_name, created_at, updated_at) VALUES ('QubitInformationObject', NOW(), NOW())");
  const id = object!.insertId;
  await db.query("INSERT INTO information_object (id, parent_id, lft, rgt, repository_id, source_culture) VALUES (?, ?, ?, ?, ?, 'en')", [id, parentId, at, at + 1, options.repositoryId ?? null]);
  await db.query("INSERT INTO information_object_i18n (id, culture, title) VALUES (?, 'en', ?)", [id, title]);
  await db.query('INSERT INTO slug (object_id, slug) VALUES (?, ?)', [id, slug]);
  return id;
}

/**
 * The nested set's faults, empty when valid: every node strictly inside its parent, siblings
 * disjoint, lft < rgt, every value used once, and the root spanning 2 × the number of rows.
 */
export async function nestedSetFaults(db: Mariadb): Promise<string[]> {
  const rows = await db.query<{ id: number; parent_id: number | null; lft: number; rgt: number }>('SELECT id, parent_id, lft, rgt FROM information_object ORDER BY lft');
  const faults: string[] = [];
  const byId = new Map(rows.map((row) => [row.id, row]));
  const values = new Set<number>();
  for (const row of rows) {
    if (!(row.lft < row.rgt)) faults.push(`${row.id}: lft ${row.lft} >= rgt ${row.rgt}`);
    for (const value of [row.lft, row.rgt]) {
      if (values.has(value)) faults.push(`${row.id}: position ${value} used twice`);
      values.add(value);
    }
    if (row.parent_id !== null) {
      const parent = byId.get(row.parent_id);
      if (!parent) faults.push(`${row.id}: parent ${row.parent_id} missing`);
      else if (!(parent.lft < row.lft && row.rgt < parent.rgt)) faults.push(`${row.id} [${row.lft}, ${row.rgt}] not inside its parent ${parent.id} [${parent.lft}, ${parent.rgt}]`);
    }
  }
  const children = new Map<number, { lft: number; rgt: number; id: number }[]>();
  for (const row of rows) if (row.parent_id !== null) children.set(row.parent_id, [...(children.get(row.parent_id) ?? []), row]);
  for (const [parentId, list] of children) {
    list.sort((a, b) => a.lft - b.lft);
    for (let i = 1; i < list.length; i += 1) if (list[i]!.lft < list[i - 1]!.rgt) faults.push(`children of ${parentId}: ${list[i - 1]!.id} and ${list[i]!.id} overlap`);
  }
  const root = byId.get(1);
  if (!root || root.lft !== 1 || root.rgt !== 2 * rows.length) faults.push(`root spans [${root?.lft}, ${root?.rgt}], not [1, ${2 * rows.length}]`);
  return faults;
}

/** A level of description added as an AtoM administrator would (Taxonomies > Levels of description). */
export async function addLevel(db: Mariadb, name: string): Promise<number> {
  const [object] = await db.query<{ insertId: number }>("INSERT INTO object (class_name, created_at, updated_at) VALUES ('QubitTerm', NOW(), NOW())");
  const id = object!.insertId;
  await db.query("INSERT INTO term (id, taxonomy_id, parent_id, source_culture) VALUES (?, 34, 110, 'en')", [id]);
  await db.query("INSERT INTO term_i18n (id, culture, name) VALUES (?, 'en', ?)", [id, name]);
  return id;
}
