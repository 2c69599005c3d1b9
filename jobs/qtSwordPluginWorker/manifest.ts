// manifest.json: the AIP record and the full description tree with every property kept.
// Deterministic: no clocks, no temporary paths; the same DIP and payload give the same bytes.
// Written in pieces (the same text JSON.stringify(value, null, 2) gives) so a tree of tens of
// thousands of items is never held as one string.
import type { DipPayload } from './payload.js';
import type { AipIdentity } from './dip.js';
import type { LocatedDip } from './locate.js';
import type { MappedDip } from './map.js';
import type { MetsModel } from './mets/model.js';

const MANIFEST_FORMAT = 'atom-worker/archivematica-dip-import';

export interface ManifestInput {
  payload: DipPayload;
  located: LocatedDip;
  aip: AipIdentity;
  model: MetsModel;
  mapped: MappedDip;
}

export function buildManifest({ payload, located, aip, model, mapped }: ManifestInput): Iterable<string> {
  const manifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    aip: {
      uuid: aip.uuid,
      name: aip.name,
      digitalObjectCount: mapped.originalFileCount,
      sizeOnDisk: mapped.sizeOnDisk,
      createdAt: model.createDate ?? null,
    },
    source: {
      kind: located.source.kind,
      value: located.source.value,
      dipName: located.dipName,
      metsFile: model.metsFileName,
      mode: mapped.mode,
      structMap: mapped.structMapLabel,
    },
    target: {
      id: payload.id,
      name: payload.name ?? null,
      objectId: payload.objectId ?? null,
      parentSlug: payload.parentSlug ?? null,
      levelOfDescription: mapped.targetLevelOfDescription,
    },
    csv: {
      file: 'descriptions.csv',
      digitalObjectPath: 'absolute path of objects/<file> in this package',
    },
    counts: {
      descriptions: mapped.descriptions,
      digitalObjects: mapped.items.length,
      skipped: mapped.skipped.length,
    },
    skipped: mapped.skipped,
    notes: model.notes,
    tree: mapped.roots,
  };
  return (function* () {
    yield* jsonPieces(manifest, '');
    yield '\n';
  })();
}

/** JSON.stringify(value, null, 2), as a sequence of pieces. For plain JSON data. */
export function* jsonPieces(value: unknown, indent: string): Generator<string> {
  if (Array.isArray(value)) {
    if (value.length === 0) {
      yield '[]';
      return;
    }
    const inner = `${indent}  `;
    yield '[';
    for (let i = 0; i < value.length; i += 1) {
      yield `${i === 0 ? '' : ','}\n${inner}`;
      const item: unknown = value[i];
      if (item === undefined || typeof item === 'function') yield 'null';
      else yield* jsonPieces(item, inner);
    }
    yield `\n${indent}]`;
    return;
  }
  if (hasToJSON(value)) {
    // As JSON.stringify does: a value with toJSON() is written as what it returns.
    yield* jsonPieces(value.toJSON(), indent);
    return;
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== 'function');
    if (entries.length === 0) {
      yield '{}';
      return;
    }
    const inner = `${indent}  `;
    yield '{';
    for (const [i, [key, v]] of entries.entries()) {
      yield `${i === 0 ? '' : ','}\n${inner}${JSON.stringify(key)}: `;
      yield* jsonPieces(v, inner);
    }
    yield `\n${indent}}`;
    return;
  }
  yield JSON.stringify(value) ?? 'null';
}

function hasToJSON(value: unknown): value is { toJSON(): unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function';
}
