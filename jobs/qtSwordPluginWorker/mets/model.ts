// What the streaming METS parser keeps: only the facts the DIP mapping needs, per file and section.
// Sizes grow with the number of files and sections, never with the size of the tool output inside.

export type PremisVersion = 2 | 3;

/** The PREMIS object of one amdSec (techMD), reduced to what AtoM stores. */
export interface PremisObjectInfo {
  premisVersion: PremisVersion;
  /** objectIdentifierValue of the identifier typed `UUID` (the last one, as AtoM does). */
  uuid?: string;
  originalName?: string;
  size?: string;
  checksum?: string;
  checksumAlgorithm?: string;
  formatName?: string;
  formatVersion?: string;
  formatRegistryName?: string;
  formatRegistryKey?: string;
  /** MIME type as the METS states it: FITS file utility output, FITS identity, else ExifTool's File:MIMEType. */
  mimeType?: string;
  /** UUIDs this object was derived from (PREMIS relationship derivation / "has source"). */
  derivedFrom: string[];
  /** UUIDs derived from this object (PREMIS relationship derivation / "is source of"). */
  sourceOf: string[];
}

/** PREMIS event types whose first date is kept. */
export const KEPT_EVENT_TYPES = ['ingestion', 'creation', 'normalization'] as const;
export type KeptEventType = (typeof KEPT_EVENT_TYPES)[number];

export interface AmdSecInfo {
  id: string;
  object?: PremisObjectInfo;
  /** First eventDateTime per kept event type. */
  eventDates: Partial<Record<KeptEventType, string>>;
}

export interface DcElement {
  /** Local name, e.g. `title` (the dc:/dcterms: prefix does not matter). */
  name: string;
  value: string;
}

export interface DmdSecInfo {
  id: string;
  created?: string;
  status?: string;
  /** MDTYPE of the (first) mdWrap. */
  mdType?: string;
  /** The Dublin Core elements, or undefined when the section holds no `dublincore` record. */
  dc?: DcElement[];
}

export interface FileInfo {
  id: string;
  admId?: string;
  groupId?: string;
  dmdId?: string;
  /** FLocat xlink:href: the path within the AIP. */
  href?: string;
}

/** A div of the Hierarchical logical structMap. */
export interface DivNode {
  label?: string;
  type?: string;
  dmdId?: string;
  /** FILEID of the div's first fptr. */
  fileId?: string;
  hasFptr: boolean;
  children: DivNode[];
}

export interface MetsModel {
  metsFileName: string;
  createDate?: string;
  dmdSecs: Map<string, DmdSecInfo>;
  amdSecs: Map<string, AmdSecInfo>;
  /** fileGrp USE="original" files, in document order. */
  originals: FileInfo[];
  /** fileGrp USE="preservation" files, in document order. */
  preservation: FileInfo[];
  /** FILEID → DMDID from divs with an fptr, over every logical/physical structMap (last wins). */
  dmdMapping: Map<string, string>;
  /** The first logical structMap labelled "Hierarchical". */
  hierarchical?: { label?: string; divs: DivNode[] };
  /** The first physical structMap not labelled "Normative Directory Structure". */
  physical?: { label?: string; mainDivLabel?: string; mainDmdId?: string };
  /** Notes worth passing on (e.g. truncated values). */
  notes: string[];
}
