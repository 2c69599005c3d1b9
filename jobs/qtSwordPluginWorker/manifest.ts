// manifest.json: the AIP record and the full description tree with every property kept.
// Deterministic: no clocks, no temporary paths; the same DIP and payload give the same bytes.
import type { DipPayload } from './payload.js';
import type { AipIdentity } from './dip.js';
import type { LocatedDip } from './locate.js';
import type { MappedDip } from './map.js';
import type { MetsModel } from './mets/model.js';

export const MANIFEST_FORMAT = 'atom-worker/archivematica-dip-import';

export interface ManifestInput {
  payload: DipPayload;
  located: LocatedDip;
  aip: AipIdentity;
  model: MetsModel;
  mapped: MappedDip;
}

export function buildManifest({ payload, located, aip, model, mapped }: ManifestInput): string {
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
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
