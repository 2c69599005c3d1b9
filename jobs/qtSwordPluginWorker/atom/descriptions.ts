// The rows of the new descriptions, a chunk at a time, as AtoM's extractor saves each one:
// object + information_object (+ its place in the nested set) + slug + i18n + publication status;
// for items the ten "Archivematica AIP" properties, the premisData format properties, the AIP
// relation, the MASTER digital object with its derivatives and the PREMIS object; and from the
// Dublin Core the events with their actors and the subject, place and type term relations.
import type { AtomSql, SqlValue } from '../../../src/types.js';
import type { ArchivematicaProperties, DescriptionNode } from '../map.js';
import type { PlacedFile } from './files.js';
import { type RowInserter, TableBuffer } from './rows.js';
import { allocateSlugs, slugTable } from './slug.js';
import { collationKey, type Stamp, TAXONOMY, TERM } from './terms.js';
import { dateOf, dateRange, phpSerializeList } from './values.js';

/** One description to write: the node, its nested-set place and parent, and its file when it is an item. */
export interface PlannedDescription {
  readonly node: DescriptionNode;
  readonly parentId: number | null;
  /** Index of the parent in the plan, when the parent is new too. */
  readonly parentIndex: number | null;
  readonly lft: number;
  readonly rgt: number;
  readonly levelId: number | null;
  readonly file: PlacedFile | undefined;
  /** The AIP relation (items, and flat mode's description made from the main dmdSec). */
  readonly relatedToAip: boolean;
}

export interface DescriptionContext {
  readonly sql: AtomSql;
  readonly inserter: RowInserter;
  readonly stamp: Stamp;
  readonly aipId: number;
  readonly publicationStatusId: number;
  /** Terms by collation key, per taxonomy (found or created beforehand). */
  readonly terms: ReadonlyMap<number, ReadonlyMap<string, number>>;
  readonly actors: ReadonlyMap<string, number>;
}

const I18N_COLUMNS = ['title', 'scope_and_content', 'extent_and_medium', 'location_of_originals', 'access_conditions', 'acquisition', 'id', 'culture'] as const;
const ARCHIVEMATICA_SCOPE = 'Archivematica AIP';
const PREMIS_SCOPE = 'premisData';

interface PendingObject {
  readonly className: string;
  assign(id: number): void;
}

/** Writes descriptions in plan order; ids of the written ones stay known for their children. */
export class DescriptionWriter {
  /** The new descriptions' ids, by plan index. */
  readonly ids: number[] = [];

  constructor(private readonly ctx: DescriptionContext) {}

  async write(plan: readonly PlannedDescription[], from: number, to: number): Promise<void> {
    const { ctx } = this;
    const { stamp } = ctx;
    const buffer = new TableBuffer(ctx.inserter);
    const objects: PendingObject[] = [];
    const slugTitles: string[] = [];
    const slugObjects: { id: number }[] = [];
    const properties: { objectIndex: { id: number }; scope: string | null; name: string; value: string | null }[] = [];
    const later: (() => void)[] = [];

    for (let index = from; index < to; index += 1) {
      const planned = plan[index]!;
      const { node } = planned;
      const io = { id: 0 };
      objects.push({ className: 'QubitInformationObject', assign: (id) => ((io.id = id), (this.ids[index] = id)) });
      slugTitles.push(node.title);
      slugObjects.push(io);
      const fields = node.fields;
      later.push(() => {
        const parentId = planned.parentIndex !== null ? this.ids[planned.parentIndex]! : planned.parentId;
        buffer.add('information_object', ['id', 'identifier', 'level_of_description_id', 'parent_id', 'lft', 'rgt', 'source_culture'], [io.id, fields?.identifier ?? null, planned.levelId, parentId, planned.lft, planned.rgt, stamp.culture]);
        buffer.add('information_object_i18n', I18N_COLUMNS, [
          node.title, fields?.scopeAndContent ?? null, fields?.extentAndMedium ?? null, fields?.locationOfOriginals ?? null, fields?.accessConditions ?? null, fields?.acquisition ?? null, io.id, stamp.culture,
        ]);
        buffer.add('status', ['object_id', 'type_id', 'status_id'], [io.id, TERM.STATUS_TYPE_PUBLICATION, ctx.publicationStatusId]);
      });
      if (fields !== null && fields.language.length > 0) properties.push({ objectIndex: io, scope: null, name: 'language', value: phpSerializeList(fields.language) });
      // Built from the parse on demand (see ArchivematicaRecord): once per item.
      const props = node.archivematica?.toJSON();
      if (props !== undefined) this.itemProperties(io, props, properties);

      if (planned.relatedToAip) {
        const relation = { id: 0 };
        objects.push({ className: 'QubitRelation', assign: (id) => (relation.id = id) });
        slugTitles.push('');
        slugObjects.push(relation);
        later.push(() => {
          buffer.add('relation', ['id', 'subject_id', 'object_id', 'type_id', 'source_culture'], [relation.id, ctx.aipId, io.id, TERM.RELATION_AIP, stamp.culture]);
          buffer.add('relation_i18n', ['id', 'culture'], [relation.id, stamp.culture]);
        });
      }
      if (fields !== null) this.dublinCore(io, fields, objects, slugTitles, slugObjects, later, buffer);
      if (planned.file !== undefined) this.digitalObject(io, planned.file, objects, slugTitles, slugObjects, later, buffer);
      if (props !== undefined) {
        const premis = { id: 0 };
        objects.push({ className: 'QubitPremisObject', assign: (id) => (premis.id = id) });
        later.push(() =>
          buffer.add('premis_object', ['id', 'information_object_id', 'puid', 'filename', 'date_ingested', 'size', 'mime_type'], [
            premis.id, io.id, props.pronomPuid, props.originalFileName, dateOf(props.originalFileIngestedAt), props.originalFileSize, props.mimeType,
          ]),
        );
      }
    }

    const ids = await ctx.inserter.insert('object', ['class_name', 'created_at', 'updated_at'], objects.map((o) => [o.className, stamp.now, stamp.now]));
    objects.forEach((object, i) => object.assign(ids[i]!));
    for (const run of later) run();
    const slugs = await allocateSlugs(slugTitles, slugTable(ctx.sql));
    // information_object first: the slug and i18n rows point at it.
    await buffer.flush();
    await ctx.inserter.insert('slug', ['object_id', 'slug'], slugObjects.map((object, i) => [object.id, slugs[i]!]));
    const propertyIds = await ctx.inserter.insert('property', ['object_id', 'scope', 'name', 'source_culture'], properties.map((p) => [p.objectIndex.id, p.scope, p.name, stamp.culture]));
    await ctx.inserter.insert('property_i18n', ['value', 'id', 'culture'], properties.map((p, i) => [p.value, propertyIds[i]!, stamp.culture]));
  }

  private itemProperties(io: { id: number }, props: ArchivematicaProperties, out: { objectIndex: { id: number }; scope: string | null; name: string; value: string | null }[]): void {
    const text = (value: string | number | null): string | null => (value === null ? null : String(value));
    const archivematica: [string, string | number | null][] = [
      ['objectUUID', props.objectUUID],
      ['aipUUID', props.aipUUID],
      ['relativePathWithinAip', props.relativePathWithinAip],
      ['aipName', props.aipName],
      ['originalFileName', props.originalFileName],
      ['originalFileSize', props.originalFileSize],
      ['originalFileIngestedAt', props.originalFileIngestedAt],
      ['preservationCopyFileName', props.preservationCopyFileName],
      ['preservationCopyFileSize', props.preservationCopySize],
      ['preservationCopyNormalizedAt', props.preservationCopyNormalizedAt],
    ];
    for (const [name, value] of archivematica) out.push({ objectIndex: io, scope: ARCHIVEMATICA_SCOPE, name, value: text(value) });
    const premis: [string, string | null][] = [
      ['formatName', props.formatName],
      ['formatVersion', props.formatVersion],
      ['formatRegistryName', props.formatRegistryName],
      ['formatRegistryKey', props.formatRegistryKey],
    ];
    for (const [name, value] of premis) out.push({ objectIndex: io, scope: PREMIS_SCOPE, name, value });
  }

  private dublinCore(
    io: { id: number },
    fields: NonNullable<DescriptionNode['fields']>,
    objects: PendingObject[],
    slugTitles: string[],
    slugObjects: { id: number }[],
    later: (() => void)[],
    buffer: TableBuffer,
  ): void {
    const { ctx } = this;
    const termRelation = (taxonomyId: number, name: string): void => {
      const termId = ctx.terms.get(taxonomyId)?.get(collationKey(name));
      if (termId === undefined) return;
      const relation = { id: 0 };
      objects.push({ className: 'QubitObjectTermRelation', assign: (id) => (relation.id = id) });
      later.push(() => buffer.add('object_term_relation', ['id', 'object_id', 'term_id'], [relation.id, io.id, termId]));
    };
    for (const subject of fields.subjectAccessPoints) termRelation(TAXONOMY.SUBJECT, subject);
    for (const place of fields.placeAccessPoints) termRelation(TAXONOMY.PLACE, place);
    for (const type of fields.types) termRelation(TAXONOMY.DC_TYPE, type);

    const event = (typeId: number, actorName: string | null, date: string | null): void => {
      const row = { id: 0 };
      objects.push({ className: 'QubitEvent', assign: (id) => (row.id = id) });
      slugTitles.push('');
      slugObjects.push(row);
      const actorId = actorName === null ? null : (ctx.actors.get(collationKey(actorName)) ?? null);
      const range = date === null ? { start: null, end: null } : dateRange(date);
      later.push(() => {
        buffer.add('event', ['id', 'start_date', 'end_date', 'type_id', 'object_id', 'actor_id', 'source_culture'], [row.id, range.start, range.end, typeId, io.id, actorId, ctx.stamp.culture]);
        buffer.add('event_i18n', ['date', 'id', 'culture'], [date, row.id, ctx.stamp.culture]);
      });
    };
    for (const publisher of fields.publishers) event(TERM.EVENT_PUBLICATION, publisher, null);
    for (const contributor of fields.contributors) event(TERM.EVENT_CONTRIBUTION, contributor, null);
    // AtoM keeps the last creator; every creator gets its creation event here, each with the date.
    const date = fields.date ?? null;
    if (fields.creators.length === 0 && date !== null) event(TERM.EVENT_CREATION, null, date);
    for (const creator of fields.creators) event(TERM.EVENT_CREATION, creator, date);
  }

  private digitalObject(io: { id: number }, file: PlacedFile, objects: PendingObject[], slugTitles: string[], slugObjects: { id: number }[], later: (() => void)[], buffer: TableBuffer): void {
    const columns = ['id', 'object_id', 'usage_id', 'mime_type', 'media_type_id', 'name', 'path', 'byte_size', 'checksum', 'checksum_type', 'parent_id'];
    const master = { id: 0 };
    objects.push({ className: 'QubitDigitalObject', assign: (id) => (master.id = id) });
    slugTitles.push(file.name);
    slugObjects.push(master);
    later.push(() => buffer.add('digital_object', columns, [master.id, io.id, TERM.USAGE_MASTER, file.mimeType, file.mediaTypeId, file.name, file.path, file.bytes, file.sha256, 'sha256', null]));
    for (const derivative of file.derivatives) {
      const row = { id: 0 };
      objects.push({ className: 'QubitDigitalObject', assign: (id) => (row.id = id) });
      slugTitles.push(derivative.name);
      slugObjects.push(row);
      later.push(() =>
        buffer.add('digital_object', columns, [row.id, null, derivative.usageId, 'image/jpeg', TERM.MEDIA_IMAGE, derivative.name, file.path, derivative.bytes, derivative.sha256, 'sha256', master.id] as SqlValue[]),
      );
    }
  }
}
