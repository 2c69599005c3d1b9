// The DIP into AtoM's database, all or nothing: files are put under uploads/ first (listed, so a
// failure removes them), then one transaction writes the AIP, the descriptions under the target
// and everything they carry; after the commit AtoM's own worker is asked to index the new tree.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { AtomSite, AtomSql, JobContext } from '../../../src/types.js';
import type { AipIdentity } from '../dip.js';
import type { LocatedDip } from '../locate.js';
import type { DescriptionNode, MappedDip } from '../map.js';
import type { MetsModel } from '../mets/model.js';
import type { DipPayload } from '../payload.js';
import type { DipSettings } from '../settings.js';
import { DipError, errorCode, throwIfAborted } from '../util.js';
import { DescriptionWriter } from './descriptions.js';
import { lockTarget, readSiteFacts } from './facts.js';
import { type PlacedFile, sweepUploads, Uploads } from './files.js';
import { levelNames, planDescriptions } from './plan.js';
import { findPreviousIngest, INGEST_RECORD, type IngestRecord, type RemovedFiles, removePreviousIngest, unreferencedFiles } from './previous.js';
import { RowInserter } from './rows.js';
import { collationKey, ensureActors, ensureTerms, findTerms, TAXONOMY, type Stamp } from './terms.js';
import { localDateTime, metsDateTime } from './values.js';

/** The culture AtoM's worker writes in (sf_default_culture). */
export const ATOM_CULTURE = 'en';
/** AtoM's root description (QubitInformationObject::ROOT_ID). */
const ROOT_DESCRIPTION = 1;
/** Files copied at once. */
const PLACE_CONCURRENCY = 8;
/** Descriptions per round of INSERTs. */
const CHUNK = 250;
/** A shift of a large nested set can take a while: more than the job-row statements get. */
const STATEMENT_TIMEOUT_MS = 300_000;
/** Levels AtoM creates when missing (setLevelOfDescriptionByName); a div's other TYPEs must exist. */
const CREATED_LEVELS = new Set(['item', 'file']);

export interface AtomIngestInput {
  readonly payload: DipPayload;
  readonly settings: DipSettings;
  readonly site: AtomSite;
  readonly located: LocatedDip;
  readonly aip: AipIdentity;
  readonly model: MetsModel;
  readonly mapped: MappedDip;
  readonly progress: (done: number) => void;
  readonly warn: (message: string) => void;
}

export interface AtomIngestResult {
  readonly targetId: number;
  readonly targetSlug: string | null;
  readonly aipId: number;
  /** Slugs of the new descriptions directly under the target. */
  readonly slugs: string[];
  readonly derivatives: number;
  /** Digital objects that got no reference image or thumbnail (not images, or unreadable ones). */
  readonly withoutDerivatives: number;
  readonly replaced: boolean;
  /** AtoM's job row for arUpdateEsIoDocumentsJob, or null when it could not be queued (see the warning). */
  readonly indexJobId: number | null;
  readonly depositRemoved: boolean;
  /** Milliseconds spent putting the files in place, and in the database transaction. */
  readonly timings: { readonly filesMs: number; readonly databaseMs: number };
}

export async function ingestIntoAtom(input: AtomIngestInput, ctx: JobContext): Promise<AtomIngestResult> {
  const { settings, site, mapped, aip, signal } = { ...input, signal: ctx.signal };
  const targetId = Number(input.payload.objectId);
  if (!Number.isSafeInteger(targetId) || targetId <= 0) {
    throw new DipError('The payload has no objectId: AtoM sends the id of the description the DIP was deposited into');
  }
  if (settings.atomRootDir === undefined) {
    throw new DipError("atom_root_dir is not set: the digital objects go into AtoM's uploads folder (or set dip_output: csv)");
  }
  const db = site.database;
  const facts = await readSiteFacts(db, targetId, ATOM_CULTURE);
  const previous = await findPreviousIngest(db, aip.uuid);
  if (previous !== undefined && !settings.replace) {
    const shown = previous.topSlugs.slice(0, 5).map((slug) => `"${slug}"`).join(', ');
    const more = previous.topSlugs.length > 5 ? ` and ${previous.topSlugs.length - 5} more` : '';
    const where = previous.topSlugs.length > 0 ? `as ${shown}${more}` : 'with no descriptions left';
    throw new DipError(
      `AIP ${aip.uuid} is in AtoM already (under "${previous.targetSlug ?? previous.targetId}", ${where}): nothing was added. Set dip_replace: true to replace it`,
    );
  }
  const levelsUsed = levelNames(mapped);
  const levels = await findTerms(db, TAXONOMY.LEVEL_OF_DESCRIPTION, levelsUsed);
  const unknown = levelsUsed.filter((name) => !levels.has(collationKey(name)) && !CREATED_LEVELS.has(collationKey(name)));
  if (unknown.length > 0) throw new DipError(`Level of description not found: ${unknown.join(', ')}`);

  await sweepUploads(settings.tempDir, async (uuid) => (await db.query('SELECT id FROM aip WHERE uuid = ?', [uuid])).length > 0);
  const uploads = await Uploads.open({
    atomRootDir: settings.atomRootDir,
    uploadDir: facts.uploadDir,
    repositorySlug: facts.target.repositorySlug,
    listDir: settings.tempDir,
    aipUuid: aip.uuid,
    referenceMaxWidth: facts.referenceMaxWidth,
  });
  let committed = false;
  const filesStarted = Date.now();
  let databaseStarted = 0;
  try {
    const files = new Map<DescriptionNode, PlacedFile>();
    let derivatives = 0;
    let withoutDerivatives = 0;
    let unreadable = 0;
    // A few files at a time: each is a dozen small file-system calls, and the thread pool overlaps them.
    let next = 0;
    let done = 0;
    let stopped = false;
    const placeNext = async (): Promise<void> => {
      // After one runner fails the others stop taking files: everything is discarded anyway.
      for (let i = next++; i < mapped.items.length && !stopped; i = next++) {
        const { node, access } = mapped.items[i]!;
        const placed = await uploads.place(access.source, access.fileName, signal).catch((error: unknown) => {
          stopped = true;
          if (errorCode(error) === 'ENOSPC') throw new DipError(`The disk is full: cannot copy ${access.fileName} into AtoM's uploads folder`);
          throw error;
        });
        files.set(node, placed);
        derivatives += placed.derivatives.length;
        if (placed.derivatives.length === 0) withoutDerivatives += 1;
        if (placed.derivativeError !== undefined && unreadable++ === 0) input.warn(`No reference image or thumbnail for ${placed.name}: ${placed.derivativeError}`);
        input.progress(++done);
      }
    };
    const placing = Array.from({ length: Math.min(PLACE_CONCURRENCY, mapped.items.length) }, placeNext);
    // Every runner settles before a failure is passed on: discard() must see every file made.
    const settled = await Promise.allSettled(placing);
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    if (withoutDerivatives > unreadable) {
      input.warn(`${withoutDerivatives - unreadable} of ${mapped.items.length} digital objects are not images and got no reference image or thumbnail`);
    }

    databaseStarted = Date.now();
    const stamp: Stamp = { now: localDateTime(), culture: ATOM_CULTURE };
    const written = await db.transaction(
      async (sql) => {
        // AtoM's root description first: every ingest (and every AtoM insert, whose nested-set shift
        // moves the root's rgt) waits here, so the reads below see what the others committed.
        await sql.query('SELECT id FROM information_object WHERE id = ? FOR UPDATE', [ROOT_DESCRIPTION]);
        const current = await findPreviousIngest(sql, aip.uuid);
        if (current?.aipId !== previous?.aipId) throw new DipError(`AIP ${aip.uuid} was ingested by another job meanwhile: nothing was added`);
        let removed: RemovedFiles | undefined;
        if (previous !== undefined) removed = await removePreviousIngest(sql, previous);
        const locked = await lockTarget(sql, targetId);
        const result = await writeTree(sql, input, stamp, locked.rgt, targetId, facts.publicationStatusId, files, signal, input.progress, levelsUsed);
        const stale = removed === undefined ? [] : await unreferencedFiles(sql, settings.atomRootDir!, removed);
        const jobId = ctx.atom?.jobId;
        if (jobId !== undefined) {
          const record: IngestRecord = {
            jobId, aipUuid: aip.uuid, aipName: aip.name, mode: mapped.mode, descriptions: mapped.descriptions, digitalObjects: mapped.items.length,
            // The first slugs only: property_i18n.value must hold the record whatever the DIP's size.
            skipped: mapped.skipped.length, targetId, targetSlug: facts.target.slug, slugs: result.slugs.slice(0, 20),
          };
          const [property] = await sql.query<{ insertId: number }>('INSERT INTO property (object_id, scope, name, source_culture) VALUES (?, ?, ?, ?)', [result.aipId, INGEST_RECORD.scope, INGEST_RECORD.name, ATOM_CULTURE]);
          await sql.query('INSERT INTO property_i18n (value, id, culture) VALUES (?, ?, ?)', [JSON.stringify(record), property!.insertId, ATOM_CULTURE]);
        }
        // The last chance to honour a timeout or shutdown: past this the job would be reported failed with its DIP in.
        throwIfAborted(signal);
        return { ...result, stale };
      },
      { statementTimeoutMs: STATEMENT_TIMEOUT_MS },
    );
    committed = true;
    const databaseMs = Date.now() - databaseStarted;
    // Committed: from here on nothing may fail the job.
    await uploads.keep().catch((error: unknown) => input.warn(`The list of files made could not be removed: ${(error as Error).message}`));
    for (const file of written.stale) await rm(file, { force: true }).catch(() => input.warn(`An earlier ingest's file could not be removed: ${file}`));

    let indexJobId: number | null = null;
    try {
      indexJobId = await site.runJob('arUpdateEsIoDocumentsJob', { ioIds: [targetId], updateIos: true, updateDescendants: true, objectId: targetId }, { objectId: targetId });
    } catch (error) {
      input.warn(`The search index was not asked to update (${(error as Error).message}): run php symfony search:populate`);
    }
    let depositRemoved = false;
    if (!settings.keepDeposit) {
      await rm(input.located.deposit, { recursive: true, force: true }).then(
        () => (depositRemoved = true),
        (error: unknown) => input.warn(`The deposit ${input.located.deposit} could not be removed: ${(error as Error).message}`),
      );
    }
    return {
      targetId,
      targetSlug: facts.target.slug,
      aipId: written.aipId,
      slugs: written.slugs,
      derivatives,
      withoutDerivatives,
      replaced: previous !== undefined,
      indexJobId,
      depositRemoved,
      timings: { filesMs: databaseStarted - filesStarted, databaseMs },
    };
  } finally {
    // A failed COMMIT may still have committed, and a concurrent ingest may use a file we made: keep what rows point at.
    if (!committed) await uploads.discard(async (files) => referencedFiles(db, settings.atomRootDir!, files));
  }
}

async function writeTree(
  sql: AtomSql,
  input: AtomIngestInput,
  stamp: Stamp,
  targetRgt: number,
  targetId: number,
  publicationStatusId: number,
  files: ReadonlyMap<DescriptionNode, PlacedFile>,
  signal: AbortSignal,
  progress: (done: number) => void,
  levelsUsed: readonly string[],
): Promise<{ aipId: number; slugs: string[] }> {
  const { mapped, aip, model } = input;
  const inserter = await RowInserter.open(sql);
  const levels = await ensureTerms(sql, inserter, stamp, TAXONOMY.LEVEL_OF_DESCRIPTION, levelsUsed);
  const fields = collectFields(mapped.roots);
  const terms = new Map<number, Map<string, number>>([
    [TAXONOMY.SUBJECT, await ensureTerms(sql, inserter, stamp, TAXONOMY.SUBJECT, fields.subjects)],
    [TAXONOMY.PLACE, await ensureTerms(sql, inserter, stamp, TAXONOMY.PLACE, fields.places)],
    // Dublin Core types are AtoM's fixed list: matched, never added.
    [TAXONOMY.DC_TYPE, await findTerms(sql, TAXONOMY.DC_TYPE, fields.types)],
  ]);
  const actors = await ensureActors(sql, inserter, stamp, fields.actors);

  // The AIP's object row keeps the METS CREATEDATE as its created_at, as AtoM's does.
  const created = metsDateTime(model.createDate) ?? stamp.now;
  const [aipId] = await inserter.insert('object', ['class_name', 'created_at', 'updated_at'], [['QubitAip', created, stamp.now]]);
  await inserter.insert('aip', ['id', 'uuid', 'filename', 'size_on_disk', 'digital_object_count', 'created_at', 'part_of'], [
    [aipId!, aip.uuid, aip.name, mapped.sizeOnDisk, mapped.originalFileCount, created, targetId],
  ]);
  if (mapped.targetLevelOfDescription !== null) {
    await sql.query('UPDATE information_object SET level_of_description_id = ? WHERE id = ?', [levels.get(collationKey(mapped.targetLevelOfDescription)) ?? null, targetId]);
    await sql.query('UPDATE object SET updated_at = ? WHERE id = ?', [stamp.now, targetId]);
  }

  const plan = planDescriptions(mapped, targetId, targetRgt, levels, files);
  const width = 2 * plan.length;
  if (width > 0) {
    await sql.query('UPDATE information_object SET lft = lft + ? WHERE lft >= ?', [width, targetRgt]);
    await sql.query('UPDATE information_object SET rgt = rgt + ? WHERE rgt >= ?', [width, targetRgt]);
  }
  const writer = new DescriptionWriter({ sql, inserter, stamp, aipId: aipId!, publicationStatusId, terms, actors });
  for (let from = 0; from < plan.length; from += CHUNK) {
    throwIfAborted(signal);
    await writer.write(plan, from, Math.min(plan.length, from + CHUNK));
    progress(mapped.items.length + Math.min(plan.length, from + CHUNK));
  }
  const topIds = plan.flatMap((planned, i) => (planned.parentIndex === null ? [writer.ids[i]!] : []));
  const slugs =
    topIds.length === 0 ? [] : (await sql.query<{ slug: string; object_id: number }>(`SELECT slug, object_id FROM slug WHERE object_id IN (${topIds.map(() => '?').join(', ')})`, topIds)).sort((a, b) => topIds.indexOf(a.object_id) - topIds.indexOf(b.object_id)).map((row) => row.slug);
  return { aipId: aipId!, slugs };
}

/** Of these files (absolute), those a digital_object row points at. */
async function referencedFiles(sql: AtomSql, atomRootDir: string, files: readonly string[]): Promise<Set<string>> {
  const referenced = new Set<string>();
  for (let i = 0; i < files.length; i += 500) {
    const batch = files.slice(i, i + 500).map((file) => ({ file, path: `/${path.relative(atomRootDir, path.dirname(file))}/`, name: path.basename(file) }));
    const rows = await sql.query<{ path: string; name: string }>(
      `SELECT path, name FROM digital_object WHERE (path, name) IN (${batch.map(() => '(?, ?)').join(', ')})`,
      batch.flatMap((entry) => [entry.path, entry.name]),
    );
    const found = new Set(rows.map((row) => `${row.path}${row.name}`));
    for (const entry of batch) if (found.has(`${entry.path}${entry.name}`)) referenced.add(entry.file);
  }
  return referenced;
}

function collectFields(roots: readonly DescriptionNode[]): { subjects: string[]; places: string[]; types: string[]; actors: string[] } {
  const out = { subjects: [] as string[], places: [] as string[], types: [] as string[], actors: [] as string[] };
  const walk = (nodes: readonly DescriptionNode[]): void => {
    for (const node of nodes) {
      const f = node.fields;
      if (f !== null) {
        out.subjects.push(...f.subjectAccessPoints);
        out.places.push(...f.placeAccessPoints);
        out.types.push(...f.types);
        out.actors.push(...f.creators, ...f.publishers, ...f.contributors);
      }
      walk(node.children);
    }
  };
  walk(roots);
  return out;
}
