// From the parsed METS to the tree of descriptions AtoM would create, following
// qtPackageExtractorMETSArchivematicaDIP (AtoM 2.x):
// - flat mode (physical structMap): every original becomes an Item, sorted by title, under an
//   intermediate "File" made from the objects/ div's Dublin Core when there is one;
// - hierarchical mode (logical structMap labelled "Hierarchical"): directory divs become
//   descriptions (LABEL = title, TYPE = level), the `objects` div stands for the target itself,
//   divs with an fptr to an original become items.
import type { AccessCopy, AccessIndex, AipIdentity } from './dip.js';
import { type DcFields, mapDublinCore, selectDcSection } from './mets/dublinCore.js';
import type { AmdSecInfo, DcElement, DivNode, FileInfo, MetsModel, PremisObjectInfo, PremisVersion } from './mets/model.js';
import { DipError, strcasecmp } from './util.js';

export type DipMode = 'flat' | 'hierarchical';

/** AtoM's "Archivematica AIP" properties of an item, plus the technical metadata AtoM keeps. */
export interface ArchivematicaProperties {
  objectUUID: string;
  aipUUID: string;
  aipName: string;
  relativePathWithinAip: string | null;
  originalFileName: string | null;
  originalFileSize: number | null;
  originalFileIngestedAt: string | null;
  preservationCopyFileName: string | null;
  preservationCopySize: number | null;
  preservationCopyNormalizedAt: string | null;
  formatName: string | null;
  formatVersion: string | null;
  formatRegistryName: string | null;
  formatRegistryKey: string | null;
  /** PRONOM PUID: the registry key when the registry is PRONOM. */
  pronomPuid: string | null;
  /** Only when the METS states it (FITS); never guessed from the extension. */
  mimeType: string | null;
  checksum: string | null;
  checksumAlgorithm: string | null;
  premisVersion: PremisVersion | null;
}

export interface DublinCoreRecord {
  dmdSecId: string;
  created: string | null;
  elements: DcElement[];
}

export interface DescriptionNode {
  legacyId: string;
  /** legacyId of the parent description; null for top descriptions (under the target). */
  parentId: string | null;
  kind: 'description' | 'item';
  title: string;
  levelOfDescription: string;
  dublinCore: DublinCoreRecord | null;
  fields: DcFields | null;
  digitalObject: { fileName: string; path: string; size: number | null } | null;
  /** Written to the manifest through its toJSON(); made on demand, not kept per item. */
  archivematica: ArchivematicaRecord | null;
  children: DescriptionNode[];
}

export interface SkippedFile {
  fileId: string;
  objectUUID: string | null;
  reason: string;
}

export interface MappedDip {
  mode: DipMode;
  structMapLabel: string | null;
  roots: DescriptionNode[];
  /** Items with their access copy, in CSV (depth-first) order. */
  items: { node: DescriptionNode; access: AccessCopy }[];
  descriptions: number;
  skipped: SkippedFile[];
  /** Level of description the objects div gives the target (hierarchical mode). */
  targetLevelOfDescription: string | null;
  /** Number of fileGrp USE="original" files. */
  originalFileCount: number;
  /** Sum of every PREMIS object size in the METS (AtoM's AIP sizeOnDisk). */
  sizeOnDisk: number;
}

export interface MapOptions {
  aip: AipIdentity;
  access: AccessIndex;
  stripExtensions: boolean;
}

export function mapDip(model: MetsModel, options: MapOptions): MappedDip {
  return new DipMapper(model, options).run();
}

type Described =
  | { ok: true; uuid: string; access: AccessCopy; amd: AmdSecInfo; object: PremisObjectInfo }
  | { ok: false; uuid: string | null; reason: string };

class DipMapper {
  private readonly skipped: SkippedFile[] = [];
  private readonly items: { node: DescriptionNode; access: AccessCopy }[] = [];
  private readonly legacyIds = new Set<string>();
  private readonly preservationByGroup = new Map<string, FileInfo>();
  private readonly preservationByUuid = new Map<string, FileInfo>();
  private readonly preservationBySource = new Map<string, FileInfo>();
  private descriptions = 0;
  private targetLevel: string | null = null;

  constructor(
    private readonly model: MetsModel,
    private readonly options: MapOptions,
  ) {
    for (const file of model.preservation) {
      if (file.groupId !== undefined && !this.preservationByGroup.has(file.groupId)) {
        this.preservationByGroup.set(file.groupId, file);
      }
      const object = this.amdOf(file)?.object;
      if (object?.uuid !== undefined && !this.preservationByUuid.has(object.uuid)) {
        this.preservationByUuid.set(object.uuid, file);
      }
      for (const source of object?.derivedFrom ?? []) {
        if (!this.preservationBySource.has(source)) this.preservationBySource.set(source, file);
      }
    }
  }

  run(): MappedDip {
    const { model } = this;
    let mode: DipMode;
    let roots: DescriptionNode[];
    let label: string | null;
    if (model.hierarchical !== undefined) {
      mode = 'hierarchical';
      label = model.hierarchical.label ?? null;
      roots = this.hierarchical(model.hierarchical.divs);
    } else if (model.physical !== undefined) {
      mode = 'flat';
      label = model.physical.label ?? null;
      roots = this.flat();
    } else {
      throw new DipError(
        `No usable structMap in ${model.metsFileName}: neither a logical structMap labelled "Hierarchical" nor a physical one`,
      );
    }
    return {
      mode,
      structMapLabel: label,
      roots,
      items: this.items,
      descriptions: this.descriptions,
      skipped: this.skipped,
      targetLevelOfDescription: this.targetLevel,
      originalFileCount: model.originals.length,
      sizeOnDisk: this.sizeOnDisk(),
    };
  }

  private flat(): DescriptionNode[] {
    const { aip } = this.options;
    let parent: DescriptionNode | null = null;
    const mainDc = selectDcSection(this.model, this.model.physical?.mainDmdId);
    if (mainDc?.dc !== undefined) {
      const fields = mapDublinCore(mainDc.dc);
      parent = this.node({
        legacyId: `${aip.uuid}/objects`,
        parentId: null,
        kind: 'description',
        title: fields.title ?? (aip.name !== '' ? aip.name : 'objects'),
        levelOfDescription: 'File',
        dublinCore: dcRecord(mainDc.id, mainDc.created, mainDc.dc),
        fields,
      });
    }

    const children: { file: FileInfo; title: string; described: Extract<Described, { ok: true }> }[] = [];
    for (const file of this.model.originals) {
      const described = this.describe(file);
      if (!described.ok) continue;
      children.push({ file, title: this.filenameTitle(described.object, described.access), described });
    }
    // Stable sort, as PHP's uasort with strcasecmp.
    children.sort((a, b) => strcasecmp(a.title, b.title));

    const items = children.map(({ file, title, described }) => this.item(file, described, parent, title, 'Item'));
    if (parent !== null) {
      parent.children = items;
      return [parent];
    }
    return items;
  }

  private hierarchical(divs: DivNode[]): DescriptionNode[] {
    const originalsById = new Map<string, FileInfo>();
    for (const file of this.model.originals) if (!originalsById.has(file.id)) originalsById.set(file.id, file);
    const placed = new Set<string>();
    const roots: DescriptionNode[] = [];

    const walk = (level: DivNode[], parent: DescriptionNode | null, depth: number, pathLabels: string[]): void => {
      for (const div of level) {
        const siblings = parent ? parent.children : roots;
        if (!div.hasFptr) {
          if (div.label === 'objects') {
            // The objects div is the target (or the description above it) itself.
            if (div.type !== undefined) {
              if (parent === null) this.targetLevel = div.type;
              else parent.levelOfDescription = div.type;
            }
            walk(div.children, parent, depth + 1, pathLabels);
          } else if (depth === 0 && div.type === undefined) {
            // The SIP's own div wraps objects/: it adds no level of its own.
            walk(div.children, parent, depth + 1, pathLabels);
          } else {
            const labels = [...pathLabels, div.label ?? ''];
            const node = this.node({
              legacyId: `${this.options.aip.uuid}/${labels.join('/')}`,
              parentId: parent?.legacyId ?? null,
              kind: 'description',
              title: div.label ?? '',
              levelOfDescription: div.type ?? 'Item',
              dublinCore: null,
              fields: null,
            });
            siblings.push(node);
            walk(div.children, node, depth + 1, labels);
          }
          continue;
        }
        if (div.fileId === undefined) continue;
        const file = originalsById.get(div.fileId);
        // Preservation copies, metadata and submission documents are not originals: not imported.
        if (file === undefined) continue;
        placed.add(file.id);
        const described = this.describe(file);
        if (!described.ok) continue;
        const fallback = this.filenameTitle(described.object, described.access);
        siblings.push(this.item(file, described, parent, div.label ?? fallback, div.type ?? 'Item', div.dmdId));
      }
    };
    walk(divs, null, 0, []);

    for (const file of this.model.originals) {
      if (placed.has(file.id)) continue;
      const uuid = this.amdOf(file)?.object?.uuid ?? null;
      this.skip(file, uuid, 'it is not placed in the Hierarchical structMap');
    }
    return roots;
  }

  private describe(file: FileInfo): Described {
    const amd = this.amdOf(file);
    const object = amd?.object;
    const uuid = object?.uuid;
    if (amd === undefined || object === undefined || uuid === undefined) {
      return this.skip(file, null, 'no PREMIS object UUID in its amdSec');
    }
    const access = this.options.access.find(uuid);
    if (access === undefined) {
      const why =
        this.options.access.refused(uuid) ??
        (this.options.access.present ? 'no access copy in objects/' : 'the DIP has no objects folder');
      return this.skip(file, uuid, why);
    }
    return { ok: true, uuid, access, amd, object };
  }

  private skip(file: FileInfo, uuid: string | null, reason: string): Described {
    this.skipped.push({ fileId: file.id, objectUUID: uuid, reason });
    return { ok: false, uuid, reason };
  }

  private item(
    file: FileInfo,
    described: Extract<Described, { ok: true }>,
    parent: DescriptionNode | null,
    title: string,
    level: string,
    divDmdId?: string,
  ): DescriptionNode {
    const { aip } = this.options;
    const dmdId = divDmdId ?? this.model.dmdMapping.get(file.id) ?? file.dmdId;
    const dc = selectDcSection(this.model, dmdId);
    const fields = dc?.dc !== undefined ? mapDublinCore(dc.dc) : null;
    const node = this.node({
      legacyId: `${aip.uuid}/${described.uuid}`,
      parentId: parent?.legacyId ?? null,
      kind: 'item',
      title: fields?.title ?? title,
      levelOfDescription: level,
      dublinCore: dc?.dc !== undefined ? dcRecord(dc.id, dc.created, dc.dc) : null,
      fields,
    });
    node.digitalObject = { fileName: described.access.fileName, path: `objects/${described.access.fileName}`, size: null };
    node.archivematica = this.properties(file, described);
    this.items.push({ node, access: described.access });
    return node;
  }

  private properties(file: FileInfo, described: Extract<Described, { ok: true }>): ArchivematicaRecord {
    const preservation = this.preservationOf(file, described.object);
    const presAmd = preservation ? this.amdOf(preservation) : undefined;
    return new ArchivematicaRecord(this.options.aip, file, described.uuid, described.amd, described.object, preservation, presAmd);
  }

  /** The preservation copy: same GROUPID (as AtoM), else linked by a PREMIS derivation relationship. */
  private preservationOf(file: FileInfo, object: PremisObjectInfo): FileInfo | undefined {
    if (file.groupId !== undefined) {
      const byGroup = this.preservationByGroup.get(file.groupId);
      if (byGroup !== undefined) return byGroup;
    }
    if (object.uuid !== undefined) {
      const bySource = this.preservationBySource.get(object.uuid);
      if (bySource !== undefined) return bySource;
    }
    for (const derived of object.sourceOf) {
      const byUuid = this.preservationByUuid.get(derived);
      if (byUuid !== undefined) return byUuid;
    }
    return undefined;
  }

  private filenameTitle(object: PremisObjectInfo, access: AccessCopy): string {
    let title = baseName(object.originalName) ?? access.fileName.slice(37);
    if (this.options.stripExtensions) {
      const stripped = stripExtension(title.trim());
      if (stripped !== '') title = stripped;
    }
    return title;
  }

  private amdOf(file: FileInfo): AmdSecInfo | undefined {
    if (file.admId === undefined) return undefined;
    let first: AmdSecInfo | undefined;
    for (const id of file.admId.split(/\s+/)) {
      const amd = this.model.amdSecs.get(id);
      if (amd?.object !== undefined) return amd;
      first ??= amd;
    }
    return first;
  }

  private node(init: Omit<DescriptionNode, 'children' | 'digitalObject' | 'archivematica'>): DescriptionNode {
    let legacyId = init.legacyId;
    for (let n = 2; this.legacyIds.has(legacyId); n += 1) legacyId = `${init.legacyId}#${n}`;
    this.legacyIds.add(legacyId);
    this.descriptions += 1;
    // One literal with every field in a fixed order: all nodes share one hidden class. (Built
    // with a spread, each node got a map of its own once digitalObject was set: ~400 bytes each.)
    return {
      legacyId,
      parentId: init.parentId,
      kind: init.kind,
      title: init.title,
      levelOfDescription: init.levelOfDescription,
      dublinCore: init.dublinCore,
      fields: init.fields,
      digitalObject: null,
      archivematica: null,
      children: [],
    };
  }

  private sizeOnDisk(): number {
    let total = 0;
    for (const amd of this.model.amdSecs.values()) {
      const size = toSize(amd.object?.size);
      if (size !== null) total += size;
    }
    return total;
  }
}

/**
 * An item's Archivematica properties, kept as references to what the METS parse holds already and
 * turned into the plain record (ArchivematicaProperties) only when the manifest is written: about
 * 60 bytes per item instead of a 20-field object and its derived strings.
 */
export class ArchivematicaRecord {
  constructor(
    private readonly aip: AipIdentity,
    private readonly file: FileInfo,
    private readonly uuid: string,
    private readonly amd: AmdSecInfo,
    private readonly object: PremisObjectInfo,
    private readonly preservation: FileInfo | undefined,
    private readonly presAmd: AmdSecInfo | undefined,
  ) {}

  toJSON(): ArchivematicaProperties {
    const { object, amd, preservation } = this;
    const presObject = this.presAmd?.object;
    const puid =
      object.formatRegistryName?.toUpperCase() === 'PRONOM' ? (object.formatRegistryKey ?? null) : null;
    return {
      objectUUID: this.uuid,
      aipUUID: this.aip.uuid,
      aipName: this.aip.name,
      relativePathWithinAip: this.file.href ?? null,
      originalFileName: baseName(object.originalName),
      originalFileSize: toSize(object.size),
      originalFileIngestedAt: amd.eventDates.ingestion ?? null,
      preservationCopyFileName: preservation ? (baseName(presObject?.originalName) ?? baseName(preservation.href)) : null,
      preservationCopySize: toSize(presObject?.size),
      preservationCopyNormalizedAt: preservation
        ? (this.presAmd?.eventDates.creation ?? amd.eventDates.normalization ?? null)
        : null,
      formatName: object.formatName ?? null,
      formatVersion: object.formatVersion ?? null,
      formatRegistryName: object.formatRegistryName ?? null,
      formatRegistryKey: object.formatRegistryKey ?? null,
      pronomPuid: puid,
      mimeType: object.mimeType ?? null,
      checksum: object.checksum ?? null,
      checksumAlgorithm: object.checksumAlgorithm ?? null,
      premisVersion: object.premisVersion,
    };
  }
}

function dcRecord(id: string, created: string | undefined, elements: DcElement[]): DublinCoreRecord {
  return { dmdSecId: id, created: created ?? null, elements };
}

/**
 * The file name part of a PREMIS originalName (AtoM: the text after the last `/`), without the
 * `%transferDirectory%`-style placeholder when the name has no folder part.
 */
export function baseName(name: string | undefined): string | null {
  if (name === undefined) return null;
  const last = name.slice(name.lastIndexOf('/') + 1).replace(/^%[A-Za-z]+%/, '');
  return last === '' ? null : last;
}

/** PHP pathinfo()['filename']: the name without its last `.extension`. */
export function stripExtension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? name : name.slice(0, dot);
}

function toSize(value: string | undefined): number | null {
  if (value === undefined || !/^\d+$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}
