// An AIP deposited before: found by its UUID, refused with the description it went into, or
// (dip_replace) removed with everything its ingest made, so that the new ingest takes its place.
import path from 'node:path';
import type { AtomSql } from '../../../src/types.js';
import { TERM } from './terms.js';

/** Kept on the AIP (a property AtoM ignores): which AtoM job ingested it, and what it made. */
export const INGEST_RECORD = { scope: 'atom-worker', name: 'ingestedByJob' } as const;

export interface IngestRecord {
  readonly jobId: number;
  readonly aipUuid: string;
  readonly aipName: string;
  readonly mode: 'flat' | 'hierarchical';
  readonly descriptions: number;
  readonly digitalObjects: number;
  readonly skipped: number;
  readonly targetId: number;
  readonly targetSlug: string | null;
  readonly slugs: string[];
}

/**
 * The ingest AtoM job `jobId` made, if it committed one: gearmand delivers a job again when the
 * worker that ran it vanished before WORK_COMPLETE arrived, and the second delivery must not fail
 * (the deposit is gone) nor ingest twice. Looked up through the few `aip` rows, not the property table.
 */
export async function findIngestOfJob(sql: AtomSql, jobId: number): Promise<IngestRecord | undefined> {
  const rows = await sql.query<{ value: string }>(
    'SELECT v.value FROM aip a JOIN property p ON p.object_id = a.id AND p.scope = ? AND p.name = ? JOIN property_i18n v ON v.id = p.id WHERE v.value LIKE ? LIMIT 1',
    [INGEST_RECORD.scope, INGEST_RECORD.name, `{"jobId":${jobId},%`],
  );
  if (rows[0] === undefined) return undefined;
  try {
    return JSON.parse(rows[0].value) as IngestRecord;
  } catch {
    return undefined;
  }
}

export interface PreviousIngest {
  readonly aipId: number;
  readonly targetId: number | null;
  readonly targetSlug: string | null;
  /** Slugs of the descriptions the earlier ingest put under the target. */
  readonly topSlugs: string[];
}

export async function findPreviousIngest(sql: AtomSql, aipUuid: string): Promise<PreviousIngest | undefined> {
  const [aip] = await sql.query<{ id: number; part_of: number | null; slug: string | null }>(
    'SELECT a.id, a.part_of, s.slug FROM aip a LEFT JOIN slug s ON s.object_id = a.part_of WHERE a.uuid = ? ORDER BY a.id LIMIT 1',
    [aipUuid],
  );
  if (aip === undefined) return undefined;
  const tops = await topDescriptions(sql, aip.id, aip.part_of);
  const slugs = tops.length === 0 ? [] : await sql.query<{ slug: string }>(`SELECT slug FROM slug WHERE object_id IN (${tops.map(() => '?').join(', ')})`, tops.map((top) => top.id));
  return { aipId: aip.id, targetId: aip.part_of, targetSlug: aip.slug, topSlugs: slugs.map((row) => row.slug) };
}

/** The roots of what an ingest added: children of the target holding a description related to the AIP. */
async function topDescriptions(sql: AtomSql, aipId: number, targetId: number | null): Promise<{ id: number; lft: number; rgt: number }[]> {
  if (targetId !== null) {
    const tops = await sql.query<{ id: number; lft: number; rgt: number }>(
      `SELECT DISTINCT c.id, c.lft, c.rgt FROM information_object c
         JOIN relation r ON r.subject_id = ? AND r.type_id = ?
         JOIN information_object i ON i.id = r.object_id AND i.lft BETWEEN c.lft AND c.rgt
       WHERE c.parent_id = ? ORDER BY c.lft`,
      [aipId, TERM.RELATION_AIP, targetId],
    );
    if (tops.length > 0) return tops;
  }
  const related = await sql.query<{ id: number; lft: number; rgt: number }>(
    'SELECT i.id, i.lft, i.rgt FROM relation r JOIN information_object i ON i.id = r.object_id WHERE r.subject_id = ? AND r.type_id = ? ORDER BY i.lft',
    [aipId, TERM.RELATION_AIP],
  );
  // Only the outermost: a flat ingest relates its File and the items inside it.
  const outermost: typeof related = [];
  for (const row of related) if (!outermost.some((top) => top.lft < row.lft && row.rgt < top.rgt)) outermost.push(row);
  return outermost;
}

export interface RemovedFiles {
  /** digital object files (path + name, relative to AtoM's root) that rows pointed at before. */
  readonly candidates: { path: string; name: string }[];
}

/**
 * Delete an earlier ingest in the open transaction: its descriptions' subtrees with their digital
 * objects, relations, events, term relations and PREMIS objects (their `object` rows too, which
 * the foreign keys alone would leave behind), the AIP, and the gap in the nested set.
 */
export async function removePreviousIngest(sql: AtomSql, previous: PreviousIngest): Promise<RemovedFiles> {
  const candidates: { path: string; name: string }[] = [];
  const tops = await topDescriptions(sql, previous.aipId, previous.targetId);
  // Right to left, so the positions of the subtrees still to go do not move.
  for (const top of [...tops].sort((a, b) => b.lft - a.lft)) {
    const ids = (await sql.query<{ id: number }>('SELECT id FROM information_object WHERE lft BETWEEN ? AND ?', [top.lft, top.rgt])).map((row) => row.id);
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      const list = batch.map(() => '?').join(', ');
      const files = await sql.query<{ path: string; name: string }>(
        `SELECT d.path, d.name FROM digital_object d LEFT JOIN digital_object m ON m.id = d.parent_id WHERE d.object_id IN (${list}) OR m.object_id IN (${list})`,
        [...batch, ...batch],
      );
      candidates.push(...files);
      await sql.query(
        `DELETE o FROM object o JOIN digital_object d ON d.id = o.id LEFT JOIN digital_object m ON m.id = d.parent_id WHERE d.object_id IN (${list}) OR m.object_id IN (${list})`,
        [...batch, ...batch],
      );
      for (const [table, column] of [['relation', 'object_id'], ['event', 'object_id'], ['object_term_relation', 'object_id'], ['premis_object', 'information_object_id']] as const) {
        await sql.query(`DELETE o FROM object o JOIN ${table} t ON t.id = o.id WHERE t.${column} IN (${list})`, batch);
      }
    }
    // By the ids read first: a parent's row takes its children's information_object rows with it
    // (ON DELETE CASCADE), and a join on them would then miss the children's object rows.
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      await sql.query(`DELETE FROM object WHERE id IN (${batch.map(() => '?').join(', ')})`, batch);
    }
    const width = top.rgt - top.lft + 1;
    await sql.query('UPDATE information_object SET lft = lft - ? WHERE lft > ?', [width, top.rgt]);
    await sql.query('UPDATE information_object SET rgt = rgt - ? WHERE rgt > ?', [width, top.rgt]);
  }
  await sql.query('DELETE o FROM object o JOIN relation r ON r.id = o.id WHERE r.subject_id = ?', [previous.aipId]);
  await sql.query('DELETE FROM object WHERE id = ?', [previous.aipId]);
  return { candidates };
}

/** Of the files rows pointed at, those no row points at any more (another AIP may share a file). */
export async function unreferencedFiles(sql: AtomSql, atomRootDir: string, removed: RemovedFiles): Promise<string[]> {
  const unused: string[] = [];
  for (const file of removed.candidates) {
    const [row] = await sql.query<{ n: number }>('SELECT COUNT(*) AS n FROM digital_object WHERE path = ? AND name = ?', [file.path, file.name]);
    if (Number(row?.n ?? 0) === 0) unused.push(path.join(atomRootDir, file.path, file.name));
  }
  return unused;
}
