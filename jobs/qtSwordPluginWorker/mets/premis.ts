// Readers for the PREMIS object (techMD) and PREMIS events (digiprovMD) inside an amdSec.
// PREMIS v2 and v3 are read alike (element names are the same where it matters); each element
// is matched by its own namespace, so a file that mixes the two versions is read too.
// Tool output under objectCharacteristicsExtension (FITS, ExifTool, MediaInfo, ...) is skipped,
// except the places a tool states the MIME type: FITS (file utility output, identity) and the
// ExifTool RDF record (File:MIMEType) newer Archivematica versions write instead of FITS.
import {
  type El,
  type OpenAction,
  PathStack,
  type SubtreeReader,
  attr,
  premisVersionOf,
} from './element.js';
import type { KeptEventType, PremisObjectInfo, PremisVersion } from './model.js';
import { KEPT_EVENT_TYPES } from './model.js';

const EXT = 'objectCharacteristics/objectCharacteristicsExtension';
const FITS = `${EXT}/fits`;
const EXIF_MIME = `${EXT}/RDF/Description/MIMEType`;
const EXIF_FILE_NS = /^https?:\/\/ns\.exiftool\.(org|ca)\/File\/1\.0\/$/;

const OBJECT_PATHS: ReadonlyMap<string, OpenAction> = new Map<string, OpenAction>([
  ['objectIdentifier', 'descend'],
  ['objectIdentifier/objectIdentifierType', 'capture'],
  ['objectIdentifier/objectIdentifierValue', 'capture'],
  ['objectCharacteristics', 'descend'],
  ['objectCharacteristics/size', 'capture'],
  ['objectCharacteristics/fixity', 'descend'],
  ['objectCharacteristics/fixity/messageDigestAlgorithm', 'capture'],
  ['objectCharacteristics/fixity/messageDigest', 'capture'],
  ['objectCharacteristics/format', 'descend'],
  ['objectCharacteristics/format/formatDesignation', 'descend'],
  ['objectCharacteristics/format/formatDesignation/formatName', 'capture'],
  ['objectCharacteristics/format/formatDesignation/formatVersion', 'capture'],
  ['objectCharacteristics/format/formatRegistry', 'descend'],
  ['objectCharacteristics/format/formatRegistry/formatRegistryName', 'capture'],
  ['objectCharacteristics/format/formatRegistry/formatRegistryKey', 'capture'],
  [EXT, 'descend'],
  [FITS, 'descend'],
  [`${FITS}/identification`, 'descend'],
  [`${FITS}/identification/identity`, 'skip'],
  [`${FITS}/toolOutput`, 'descend'],
  [`${FITS}/toolOutput/tool`, 'descend'],
  [`${FITS}/toolOutput/tool/fileUtilityOutput`, 'descend'],
  [`${FITS}/toolOutput/tool/fileUtilityOutput/mimetype`, 'capture'],
  [`${EXT}/RDF`, 'descend'],
  [`${EXT}/RDF/Description`, 'descend'],
  [EXIF_MIME, 'capture'],
  ['originalName', 'capture'],
  ['relationship', 'descend'],
  ['relationship/relationshipType', 'capture'],
  ['relationship/relationshipSubType', 'capture'],
  // PREMIS 3 name, then PREMIS 2 name of the same container.
  ['relationship/relatedObjectIdentifier', 'descend'],
  ['relationship/relatedObjectIdentifier/relatedObjectIdentifierType', 'capture'],
  ['relationship/relatedObjectIdentifier/relatedObjectIdentifierValue', 'capture'],
  ['relationship/relatedObjectIdentification', 'descend'],
  ['relationship/relatedObjectIdentification/relatedObjectIdentifierType', 'capture'],
  ['relationship/relatedObjectIdentification/relatedObjectIdentifierValue', 'capture'],
]);

/** Reads one premis:object; feed it the object's descendants. */
export class PremisObjectReader implements SubtreeReader {
  readonly info: PremisObjectInfo;
  private readonly path = new PathStack();
  private idType: string | undefined;
  private idValue: string | undefined;
  private sawSize = false;
  private sawFixity = false;
  private fixAlgorithm: string | undefined;
  private fixDigest: string | undefined;
  private sawFormat = false;
  private regName: string | undefined;
  private regKey: string | undefined;
  private sawRegistry = false;
  private relType: string | undefined;
  private relSubType: string | undefined;
  private relIdType: string | undefined;
  private relIdValue: string | undefined;
  private readonly relUuids: string[] = [];
  private fileUtilityMime: string | undefined;
  private identityMime: string | undefined;
  private exifMime: string | undefined;

  constructor(version: PremisVersion) {
    this.info = { premisVersion: version, derivedFrom: [], sourceOf: [] };
  }

  open(el: El, _depth: number): OpenAction {
    const p = this.path.peek(el.local);
    const inExtension = p.startsWith(`${EXT}/`);
    if (!inExtension && premisVersionOf(el.uri) === undefined) return 'skip';
    const action = OBJECT_PATHS.get(p);
    if (action === undefined) return 'skip';
    if (p === `${FITS}/identification/identity`) {
      if (this.identityMime === undefined) this.identityMime = nonEmpty(attr(el, 'mimetype'));
      return 'skip';
    }
    if (p === `${FITS}/toolOutput/tool/fileUtilityOutput/mimetype` && this.fileUtilityMime !== undefined) {
      return 'skip';
    }
    if (p === EXIF_MIME && (this.exifMime !== undefined || !EXIF_FILE_NS.test(el.uri))) return 'skip';
    if (action !== 'skip') this.path.push(el.local);
    return action;
  }

  close(_el: El, _depth: number, text: string | undefined): void {
    const p = this.path.pop();
    const value = text === undefined ? undefined : nonEmpty(text.trim());
    switch (p) {
      case 'objectIdentifier/objectIdentifierType':
        this.idType = value;
        break;
      case 'objectIdentifier/objectIdentifierValue':
        this.idValue = value;
        break;
      case 'objectIdentifier':
        // AtoM keeps the last identifier typed UUID.
        if (this.idType === 'UUID' && this.idValue !== undefined) this.info.uuid = this.idValue;
        this.idType = this.idValue = undefined;
        break;
      case 'objectCharacteristics/size':
        if (!this.sawSize && value !== undefined) {
          this.info.size = value;
          this.sawSize = true;
        }
        break;
      case 'objectCharacteristics/fixity/messageDigestAlgorithm':
        this.fixAlgorithm = value;
        break;
      case 'objectCharacteristics/fixity/messageDigest':
        this.fixDigest = value;
        break;
      case 'objectCharacteristics/fixity':
        if (!this.sawFixity && this.fixDigest !== undefined) {
          this.info.checksum = this.fixDigest;
          if (this.fixAlgorithm !== undefined) this.info.checksumAlgorithm = shared(this.fixAlgorithm);
          this.sawFixity = true;
        }
        this.fixAlgorithm = this.fixDigest = undefined;
        break;
      case 'objectCharacteristics/format/formatDesignation/formatName':
        if (!this.sawFormat && value !== undefined) this.info.formatName ??= shared(value);
        break;
      case 'objectCharacteristics/format/formatDesignation/formatVersion':
        if (!this.sawFormat && value !== undefined) this.info.formatVersion ??= shared(value);
        break;
      case 'objectCharacteristics/format/formatRegistry/formatRegistryName':
        this.regName = value;
        break;
      case 'objectCharacteristics/format/formatRegistry/formatRegistryKey':
        this.regKey = value;
        break;
      case 'objectCharacteristics/format/formatRegistry':
        if (!this.sawFormat && !this.sawRegistry) {
          if (this.regName !== undefined) this.info.formatRegistryName = shared(this.regName);
          if (this.regKey !== undefined) this.info.formatRegistryKey = shared(this.regKey);
          this.sawRegistry = true;
        }
        this.regName = this.regKey = undefined;
        break;
      case 'objectCharacteristics/format':
        this.sawFormat = true;
        break;
      case `${FITS}/toolOutput/tool/fileUtilityOutput/mimetype`:
        if (value !== undefined) this.fileUtilityMime = value;
        break;
      case EXIF_MIME:
        if (value !== undefined) this.exifMime = value;
        break;
      case 'originalName':
        if (value !== undefined) this.info.originalName ??= value;
        break;
      case 'relationship/relationshipType':
        this.relType = value;
        break;
      case 'relationship/relationshipSubType':
        this.relSubType = value;
        break;
      case 'relationship/relatedObjectIdentifier/relatedObjectIdentifierType':
      case 'relationship/relatedObjectIdentification/relatedObjectIdentifierType':
        this.relIdType = value;
        break;
      case 'relationship/relatedObjectIdentifier/relatedObjectIdentifierValue':
      case 'relationship/relatedObjectIdentification/relatedObjectIdentifierValue':
        this.relIdValue = value;
        break;
      case 'relationship/relatedObjectIdentifier':
      case 'relationship/relatedObjectIdentification':
        if (this.relIdValue !== undefined && (this.relIdType === undefined || this.relIdType === 'UUID')) {
          this.relUuids.push(this.relIdValue);
        }
        this.relIdType = this.relIdValue = undefined;
        break;
      case 'relationship':
        if (this.relType?.toLowerCase() === 'derivation') {
          const sub = this.relSubType?.toLowerCase();
          if (sub === 'has source') this.info.derivedFrom.push(...this.relUuids);
          else if (sub === 'is source of') this.info.sourceOf.push(...this.relUuids);
        }
        this.relType = this.relSubType = undefined;
        this.relUuids.length = 0;
        break;
      default:
        break;
    }
  }

  /** Call once the premis:object element has ended. */
  finish(): PremisObjectInfo {
    const mime = this.fileUtilityMime ?? this.identityMime ?? this.exifMime;
    if (mime !== undefined) this.info.mimeType = shared(mime);
    return this.info;
  }
}

const EVENT_PATHS: ReadonlyMap<string, OpenAction> = new Map<string, OpenAction>([
  ['eventType', 'capture'],
  ['eventDateTime', 'capture'],
]);

export interface PremisEventInfo {
  type?: KeptEventType;
  dateTime?: string;
}

/** Reads one premis:event, keeping its type (when it is one we use) and date. */
export class PremisEventReader implements SubtreeReader {
  private readonly path = new PathStack();
  private type: string | undefined;
  private dateTime: string | undefined;

  open(el: El, _depth: number): OpenAction {
    if (premisVersionOf(el.uri) === undefined) return 'skip';
    const action = EVENT_PATHS.get(this.path.peek(el.local));
    if (action === undefined) return 'skip';
    this.path.push(el.local);
    return action;
  }

  close(_el: El, _depth: number, text: string | undefined): void {
    const p = this.path.pop();
    const value = text === undefined ? undefined : nonEmpty(text.trim());
    if (p === 'eventType') this.type ??= value;
    else if (p === 'eventDateTime') this.dateTime ??= value;
  }

  finish(): PremisEventInfo {
    const type = this.type as KeptEventType | undefined;
    const kept = type !== undefined && (KEPT_EVENT_TYPES as readonly string[]).includes(type);
    const result: PremisEventInfo = {};
    if (kept) result.type = type;
    if (this.dateTime !== undefined) result.dateTime = this.dateTime;
    return result;
  }
}

const SHARED_MAX_ENTRIES = 4096;
const SHARED_MAX_CHARS = 200;
const sharedValues = new Map<string, string>();

/**
 * One copy of values that repeat across thousands of files (format names, registry keys, MIME
 * types, checksum algorithms), instead of one string per file. Bounded; values are immutable, so
 * sharing them between jobs is harmless.
 */
function shared(value: string): string {
  if (value.length > SHARED_MAX_CHARS) return value;
  const known = sharedValues.get(value);
  if (known !== undefined) return known;
  if (sharedValues.size >= SHARED_MAX_ENTRIES) sharedValues.clear();
  sharedValues.set(value, value);
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
