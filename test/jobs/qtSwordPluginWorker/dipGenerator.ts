// Generates Archivematica-shaped DIPs (METS.<uuid>.xml + objects/<uuid>-<name>) into temp dirs.
// The METS follows what Archivematica writes: metsHdr, dmdSecs (DC / OTHER CUSTOM / PREMIS
// intellectual entity), one amdSec per file (PREMIS object with FITS output in
// objectCharacteristicsExtension, PREMIS events, an agent), a fileSec with original and
// preservation groups, a physical "Archivematica default" structMap, a logical "Normative
// Directory Structure" one, and optionally a logical "Hierarchical" one with levels.
import { randomUUID } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const PREMIS_NS = { 2: 'info:lc/xmlns/premis-v2', 3: 'http://www.loc.gov/premis/v3' } as const;

export type DcSpec = Record<string, string | string[]>;

export interface DmdSpec {
  dc?: DcSpec;
  /** An MDTYPE="OTHER" OTHERMDTYPE="CUSTOM" section with this text. */
  custom?: string;
  created?: string;
  status?: string;
}

export interface GenFile {
  /** Path inside objects/, e.g. `photos/cat.jpg`. */
  path: string;
  uuid?: string;
  premis?: 2 | 3;
  /** false: no access copy; a string: that access file name instead of `<uuid>-<basename>`. */
  access?: boolean | string;
  accessContent?: string;
  /** dmdSecs referenced by the file's div (several → `DMDID="dmdSec_a dmdSec_b"`). */
  dmd?: DmdSpec[];
  /** Add a normalized preservation copy (PREMIS derivation, same GROUPID, creation event). */
  preservation?: boolean;
  /** Bytes of FITS tool output padding in objectCharacteristicsExtension (default 300). */
  fitsPadding?: number;
  /** MIME type FITS states; null: no FITS mimetype at all. */
  mime?: string | null;
  /** MIME type in an ExifTool RDF record (as Archivematica 1.10+ writes, without FITS). */
  exifMime?: string;
  size?: number;
  formatName?: string;
  puid?: string;
  /** Omit premis:originalName. */
  noOriginalName?: boolean;
  /** Hierarchical TYPE of the file's div. */
  level?: string;
  /** Leave the file out of the Hierarchical structMap. */
  notInHierarchy?: boolean;
}

export interface DipSpec {
  /** Transfer name; the DIP folder is `<name>-<aipUuid>`. */
  name?: string;
  aipUuid?: string;
  /** metsHdr CREATEDATE; null for none. */
  createDate?: string | null;
  files: GenFile[];
  /** dmdSecs referenced by the objects/ div. */
  objectsDmd?: DmdSpec[];
  /** Add a logical "Hierarchical" structMap. */
  hierarchical?: { objectsLevel?: string; dirLevels?: Record<string, string> };
  /** Raw DOCTYPE inserted after the XML declaration. */
  doctype?: string;
  /** Raw XML inserted into the first DC title (e.g. an entity reference). */
  rawTitle?: string;
  /** Override the DIP folder name. */
  dipName?: string;
  /** Don't create the objects/ folder. */
  noObjectsDir?: boolean;
}

export interface GeneratedFile {
  path: string;
  uuid: string;
  fileId: string;
  accessName: string | null;
  preservationUuid: string | null;
}

export interface GeneratedDip {
  dipDir: string;
  dipName: string;
  aipUuid: string;
  metsPath: string;
  files: GeneratedFile[];
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
export function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
}

/** Deterministic UUID from a number (v4 shape). */
export function seqUuid(n: number, prefix = 0): string {
  const hex = n.toString(16).padStart(12, '0');
  const p = prefix.toString(16).padStart(8, '0');
  return `${p}-0000-4000-8000-${hex}`;
}

export async function generateDip(parentDir: string, spec: DipSpec): Promise<GeneratedDip> {
  const aipUuid = spec.aipUuid ?? randomUUID();
  const dipName = spec.dipName ?? `${spec.name ?? 'transfer'}-${aipUuid}`;
  const dipDir = path.join(parentDir, dipName);
  await mkdir(dipDir, { recursive: true });
  if (!spec.noObjectsDir) await mkdir(path.join(dipDir, 'objects'), { recursive: true });

  const files: GeneratedFile[] = spec.files.map((f, i) => {
    const uuid = f.uuid ?? randomUUID();
    const base = path.posix.basename(f.path);
    const accessName = f.access === false ? null : typeof f.access === 'string' ? f.access : `${uuid}-${base}`;
    return { path: f.path, uuid, fileId: `file-${uuid}`, accessName, preservationUuid: f.preservation ? seqUuid(i + 1, 0xfeed) : null };
  });

  const metsPath = path.join(dipDir, `METS.${aipUuid}.xml`);
  await writeChunks(metsPath, metsChunks(spec, dipName, files));

  // Access copies, a few at a time.
  const pending = files
    .map((g, i) => ({ g, f: spec.files[i] }))
    .filter((x): x is { g: GeneratedFile & { accessName: string }; f: GenFile } => x.g.accessName !== null && x.f !== undefined);
  if (!spec.noObjectsDir) {
    for (let i = 0; i < pending.length; i += 64) {
      await Promise.all(
        pending.slice(i, i + 64).map(({ g, f }) =>
          writeFile(path.join(dipDir, 'objects', g.accessName), f.accessContent ?? `access copy of ${f.path}\n`),
        ),
      );
    }
  }
  return { dipDir, dipName, aipUuid, metsPath, files };
}

async function writeChunks(file: string, chunks: Iterable<string>): Promise<void> {
  const handle = await open(file, 'w');
  try {
    let batch: string[] = [];
    let size = 0;
    for (const chunk of chunks) {
      batch.push(chunk);
      size += chunk.length;
      if (size > 1 << 20) {
        await handle.write(batch.join(''));
        batch = [];
        size = 0;
      }
    }
    await handle.write(batch.join(''));
  } finally {
    await handle.close();
  }
}

interface DirNode {
  name: string;
  path: string;
  dirs: Map<string, DirNode>;
  files: number[];
}

function* metsChunks(spec: DipSpec, dipName: string, files: GeneratedFile[]): Generator<string> {
  yield `<?xml version='1.0' encoding='UTF-8'?>\n`;
  if (spec.doctype) yield `${spec.doctype}\n`;
  yield `<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.loc.gov/METS/ http://www.loc.gov/standards/mets/version1121/mets.xsd">\n`;
  yield spec.createDate === null ? '  <mets:metsHdr/>\n' : `  <mets:metsHdr CREATEDATE="${esc(spec.createDate ?? '2024-05-06T07:08:09')}"/>\n`;

  // dmdSecs: the SIP's PREMIS intellectual entity first, as Archivematica writes it.
  let dmdCount = 0;
  let rawTitlePending = spec.rawTitle;
  const dmdIds = (list: DmdSpec[] | undefined): string[] => (list ?? []).map(() => `dmdSec_${++dmdCount}`);
  const sipDmd = `dmdSec_${++dmdCount}`;
  yield `  <mets:dmdSec ID="${sipDmd}" CREATED="2024-05-06T07:08:09" STATUS="original">\n    <mets:mdWrap MDTYPE="PREMIS:OBJECT">\n      <mets:xmlData>\n        <premis:object xmlns:premis="${PREMIS_NS[3]}" xsi:type="premis:intellectualEntity" version="3.0">\n          <premis:objectIdentifier>\n            <premis:objectIdentifierType>UUID</premis:objectIdentifierType>\n            <premis:objectIdentifierValue>${spec.aipUuid ?? '00000000-0000-4000-8000-000000000000'}</premis:objectIdentifierValue>\n          </premis:objectIdentifier>\n          <premis:originalName>${esc(dipName)}</premis:originalName>\n        </premis:object>\n      </mets:xmlData>\n    </mets:mdWrap>\n  </mets:dmdSec>\n`;

  const objectsDmdIds = dmdIds(spec.objectsDmd);
  const fileDmdIds = spec.files.map((f) => dmdIds(f.dmd));
  const dmdBlocks: { id: string; dmd: DmdSpec }[] = [];
  (spec.objectsDmd ?? []).forEach((d, i) => dmdBlocks.push({ id: objectsDmdIds[i] ?? '', dmd: d }));
  spec.files.forEach((f, fi) => (f.dmd ?? []).forEach((d, i) => dmdBlocks.push({ id: fileDmdIds[fi]?.[i] ?? '', dmd: d })));
  for (const { id, dmd } of dmdBlocks) {
    const created = dmd.created ?? '2024-05-06T07:08:09';
    const status = dmd.status ?? 'original';
    if (dmd.custom !== undefined) {
      yield `  <mets:dmdSec ID="${id}" CREATED="${esc(created)}" STATUS="${esc(status)}">\n    <mets:mdWrap MDTYPE="OTHER" OTHERMDTYPE="CUSTOM">\n      <mets:xmlData>\n        <custom>${esc(dmd.custom)}</custom>\n      </mets:xmlData>\n    </mets:mdWrap>\n  </mets:dmdSec>\n`;
      continue;
    }
    let body = '';
    for (const [element, values] of Object.entries(dmd.dc ?? {})) {
      for (const value of Array.isArray(values) ? values : [values]) {
        let text = esc(value);
        if (element === 'title' && rawTitlePending !== undefined) {
          text = rawTitlePending;
          rawTitlePending = undefined;
        }
        body += `          <dc:${element}>${text}</dc:${element}>\n`;
      }
    }
    yield `  <mets:dmdSec ID="${id}" CREATED="${esc(created)}" STATUS="${esc(status)}">\n    <mets:mdWrap MDTYPE="DC">\n      <mets:xmlData>\n        <dcterms:dublincore xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dc="http://purl.org/dc/elements/1.1/" xsi:schemaLocation="http://purl.org/dc/terms/ https://dublincore.org/schemas/xmls/qdc/2008/02/11/dcterms.xsd">\n${body}        </dcterms:dublincore>\n      </mets:xmlData>\n    </mets:mdWrap>\n  </mets:dmdSec>\n`;
  }

  // amdSecs: originals, then preservation copies.
  let amdCount = 0;
  const origAmd: string[] = [];
  const presAmd: (string | null)[] = [];
  for (const [i, f] of spec.files.entries()) {
    const g = files[i];
    if (!g) continue;
    const id = `amdSec_${++amdCount}`;
    origAmd.push(id);
    yield amdSec(id, f, g, 'original');
  }
  for (const [i, f] of spec.files.entries()) {
    const g = files[i];
    if (!g || !g.preservationUuid) {
      presAmd.push(null);
      continue;
    }
    const id = `amdSec_${++amdCount}`;
    presAmd.push(id);
    yield amdSec(id, f, g, 'preservation');
  }

  // fileSec
  yield '  <mets:fileSec>\n    <mets:fileGrp USE="original">\n';
  for (const [i, g] of files.entries()) {
    yield `      <mets:file GROUPID="Group-${g.uuid}" ID="${g.fileId}" ADMID="${origAmd[i]}">\n        <mets:FLocat xlink:href="objects/${esc(g.path)}" LOCTYPE="OTHER" OTHERLOCTYPE="SYSTEM"/>\n      </mets:file>\n`;
  }
  yield '    </mets:fileGrp>\n';
  if (files.some((g) => g.preservationUuid)) {
    yield '    <mets:fileGrp USE="preservation">\n';
    for (const [i, g] of files.entries()) {
      if (!g.preservationUuid) continue;
      yield `      <mets:file GROUPID="Group-${g.uuid}" ID="file-${g.preservationUuid}" ADMID="${presAmd[i]}">\n        <mets:FLocat xlink:href="objects/${esc(preservationPath(g))}" LOCTYPE="OTHER" OTHERLOCTYPE="SYSTEM"/>\n      </mets:file>\n`;
    }
    yield '    </mets:fileGrp>\n';
  }
  yield '  </mets:fileSec>\n';

  // Directory tree of objects/.
  const root: DirNode = { name: 'objects', path: '', dirs: new Map(), files: [] };
  files.forEach((g, i) => {
    const parts = g.path.split('/');
    parts.pop();
    let node = root;
    for (const part of parts) {
      let next = node.dirs.get(part);
      if (!next) {
        next = { name: part, path: node.path ? `${node.path}/${part}` : part, dirs: new Map(), files: [] };
        node.dirs.set(part, next);
      }
      node = next;
    }
    node.files.push(i);
  });

  const objectsDmdAttr = objectsDmdIds.length ? ` DMDID="${objectsDmdIds.join(' ')}"` : '';
  const fileDiv = (i: number, indent: string, withPtr: boolean, hier: boolean): string => {
    const g = files[i];
    const f = spec.files[i];
    if (!g || !f) return '';
    const dmd = fileDmdIds[i]?.length ? ` DMDID="${fileDmdIds[i]?.join(' ')}"` : '';
    const type = hier ? (f.level ? ` TYPE="${esc(f.level)}"` : '') : ' TYPE="Item"';
    const label = esc(path.posix.basename(g.path));
    let out = withPtr
      ? `${indent}<mets:div LABEL="${label}"${type}${dmd}>\n${indent}  <mets:fptr FILEID="${g.fileId}"/>\n${indent}</mets:div>\n`
      : `${indent}<mets:div LABEL="${label}"${type}${dmd}/>\n`;
    if (g.preservationUuid && !hier) {
      const pl = esc(path.posix.basename(preservationPath(g)));
      out += withPtr
        ? `${indent}<mets:div LABEL="${pl}" TYPE="Item">\n${indent}  <mets:fptr FILEID="file-${g.preservationUuid}"/>\n${indent}</mets:div>\n`
        : `${indent}<mets:div LABEL="${pl}" TYPE="Item"/>\n`;
    }
    return out;
  };
  function* dirDivs(node: DirNode, indent: string, withPtr: boolean, hier: boolean): Generator<string> {
    for (const dir of node.dirs.values()) {
      const level = spec.hierarchical?.dirLevels?.[dir.path];
      const type = hier ? (level ? ` TYPE="${esc(level)}"` : '') : ' TYPE="Directory"';
      yield `${indent}<mets:div LABEL="${esc(dir.name)}"${type}>\n`;
      yield* dirDivs(dir, `${indent}  `, withPtr, hier);
      yield `${indent}</mets:div>\n`;
    }
    for (const i of node.files) {
      if (hier && spec.files[i]?.notInHierarchy) continue;
      yield fileDiv(i, indent, withPtr, hier);
    }
  }

  yield `  <mets:structMap ID="structMap_1" LABEL="Archivematica default" TYPE="physical">\n    <mets:div LABEL="${esc(dipName)}" TYPE="Directory" DMDID="${sipDmd}">\n      <mets:div LABEL="objects" TYPE="Directory"${objectsDmdAttr}>\n`;
  yield* dirDivs(root, '        ', true, false);
  yield '      </mets:div>\n    </mets:div>\n  </mets:structMap>\n';

  yield `  <mets:structMap ID="structMap_2" LABEL="Normative Directory Structure" TYPE="logical">\n    <mets:div LABEL="${esc(dipName)}" TYPE="Directory" DMDID="${sipDmd}">\n      <mets:div LABEL="objects" TYPE="Directory"${objectsDmdAttr}>\n`;
  yield* dirDivs(root, '        ', false, false);
  yield '      </mets:div>\n    </mets:div>\n  </mets:structMap>\n';

  if (spec.hierarchical) {
    const objectsType = spec.hierarchical.objectsLevel ? ` TYPE="${esc(spec.hierarchical.objectsLevel)}"` : '';
    yield `  <mets:structMap ID="structMap_${randomUUID()}" LABEL="Hierarchical" TYPE="logical">\n    <mets:div LABEL="${esc(dipName)}" DMDID="${sipDmd}">\n      <mets:div LABEL="objects"${objectsType}>\n`;
    yield* dirDivs(root, '        ', true, true);
    yield '      </mets:div>\n    </mets:div>\n  </mets:structMap>\n';
  }
  yield '</mets:mets>\n';
}

function preservationPath(g: GeneratedFile): string {
  const dir = path.posix.dirname(g.path);
  const stem = path.posix.basename(g.path).replace(/\.[^.]*$/, '');
  const name = `${stem}-${g.preservationUuid}.tif`;
  return dir === '.' ? name : `${dir}/${name}`;
}

function amdSec(id: string, f: GenFile, g: GeneratedFile, use: 'original' | 'preservation'): string {
  const version = f.premis ?? 3;
  const ns = PREMIS_NS[version];
  const ver = version === 3 ? '3.0' : '2.2';
  const isPres = use === 'preservation';
  const uuid = isPres ? (g.preservationUuid ?? '') : g.uuid;
  const size = isPres ? (f.size ?? 1000) * 10 : (f.size ?? 1000);
  const formatName = isPres ? 'Tagged Image File Format' : (f.formatName ?? 'JPEG');
  const puid = isPres ? '' : (f.puid ?? 'fmt/43');
  const original = isPres ? `%SIPDirectory%objects/${preservationPath(g)}` : `%transferDirectory%objects/${g.path}`;
  const mime = isPres ? 'image/tiff' : f.mime === undefined ? 'image/jpeg' : f.mime;
  const padding = 'x'.repeat(f.fitsPadding ?? 300);
  const relatedTag = version === 3 ? 'relatedObjectIdentifier' : 'relatedObjectIdentification';
  const relationship =
    g.preservationUuid === null
      ? ''
      : `            <premis:relationship>\n              <premis:relationshipType>derivation</premis:relationshipType>\n              <premis:relationshipSubType>${isPres ? 'has source' : 'is source of'}</premis:relationshipSubType>\n              <premis:${relatedTag}>\n                <premis:relatedObjectIdentifierType>UUID</premis:relatedObjectIdentifierType>\n                <premis:relatedObjectIdentifierValue>${isPres ? g.uuid : g.preservationUuid}</premis:relatedObjectIdentifierValue>\n              </premis:${relatedTag}>\n            </premis:relationship>\n`;
  const identity = mime === null ? '' : ` mimetype="${esc(mime)}"`;
  const exif =
    f.exifMime === undefined || isPres
      ? ''
      : `                <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n                  <rdf:Description xmlns:System="http://ns.exiftool.org/File/System/1.0/" xmlns:File="http://ns.exiftool.org/File/1.0/">\n                    <System:MIMEType>application/x-not-this-one</System:MIMEType>\n                    <File:MIMEType>${esc(f.exifMime)}</File:MIMEType>\n                  </rdf:Description>\n                </rdf:RDF>\n`;
  const fileUtil = mime === null ? '' : `                        <mimetype>${esc(mime)}</mimetype>\n`;
  const events: [string, string][] = isPres
    ? [['creation', '2024-05-06T07:05:00+00:00']]
    : [
        ['ingestion', '2024-05-06T07:00:00+00:00'],
        ['message digest calculation', '2024-05-06T07:01:00+00:00'],
        ...(g.preservationUuid ? ([['normalization', '2024-05-06T07:04:59+00:00']] as [string, string][]) : []),
      ];
  const eventXml = events
    .map(
      ([type, when], k) =>
        `    <mets:digiprovMD ID="digiprovMD_${id}_${k}">\n      <mets:mdWrap MDTYPE="PREMIS:EVENT">\n        <mets:xmlData>\n          <premis:event xmlns:premis="${ns}" version="${ver}">\n            <premis:eventIdentifier>\n              <premis:eventIdentifierType>UUID</premis:eventIdentifierType>\n              <premis:eventIdentifierValue>${seqUuid(k + 1, 0xe0e0)}</premis:eventIdentifierValue>\n            </premis:eventIdentifier>\n            <premis:eventType>${type}</premis:eventType>\n            <premis:eventDateTime>${when}</premis:eventDateTime>\n            ${version === 3 ? '<premis:eventDetailInformation><premis:eventDetail>program="test"</premis:eventDetail></premis:eventDetailInformation>' : '<premis:eventDetail>program="test"</premis:eventDetail>'}\n            <premis:eventOutcomeInformation>\n              <premis:eventOutcome>Pass</premis:eventOutcome>\n            </premis:eventOutcomeInformation>\n          </premis:event>\n        </mets:xmlData>\n      </mets:mdWrap>\n    </mets:digiprovMD>\n`,
    )
    .join('');
  return `  <mets:amdSec ID="${id}">
    <mets:techMD ID="techMD_${id}">
      <mets:mdWrap MDTYPE="PREMIS:OBJECT">
        <mets:xmlData>
          <premis:object xmlns:premis="${ns}" xsi:type="premis:file" version="${ver}">
            <premis:objectIdentifier>
              <premis:objectIdentifierType>UUID</premis:objectIdentifierType>
              <premis:objectIdentifierValue>${uuid}</premis:objectIdentifierValue>
            </premis:objectIdentifier>
            <premis:objectCharacteristics>
              <premis:compositionLevel>0</premis:compositionLevel>
              <premis:fixity>
                <premis:messageDigestAlgorithm>sha256</premis:messageDigestAlgorithm>
                <premis:messageDigest>
                  ${'ab'.repeat(32)}
                </premis:messageDigest>
              </premis:fixity>
              <premis:size>${size}</premis:size>
              <premis:format>
                <premis:formatDesignation>
                  <premis:formatName>${esc(formatName)}</premis:formatName>
                  <premis:formatVersion>1.01</premis:formatVersion>
                </premis:formatDesignation>
                <premis:formatRegistry>
                  <premis:formatRegistryName>${puid ? 'PRONOM' : ''}</premis:formatRegistryName>
                  <premis:formatRegistryKey>${esc(puid)}</premis:formatRegistryKey>
                </premis:formatRegistry>
              </premis:format>
              <premis:objectCharacteristicsExtension>
                <fits xmlns="http://hul.harvard.edu/ois/xml/ns/fits/fits_output" version="1.4.0">
                  <identification>
                    <identity format="${esc(formatName)}"${identity} toolname="FITS" toolversion="1.4.0"/>
                  </identification>
                  <fileinfo>
                    <size toolname="OIS File Information">999999</size>
                    <originalName>decoy-from-fits.bin</originalName>
                  </fileinfo>
                  <toolOutput>
                    <tool name="file utility" version="5.38">
                      <fileUtilityOutput xmlns="">
                        <rawOutput>${padding}</rawOutput>
${fileUtil}                      </fileUtilityOutput>
                    </tool>
                    <tool name="Exiftool" version="11.88">
                      <exiftool xmlns=""><MIMEType>application/x-decoy</MIMEType><Comment>${padding}</Comment></exiftool>
                    </tool>
                  </toolOutput>
                </fits>
${exif}              </premis:objectCharacteristicsExtension>
            </premis:objectCharacteristics>
${f.noOriginalName && !isPres ? '' : `            <premis:originalName>${esc(original)}</premis:originalName>\n`}${relationship}          </premis:object>
        </mets:xmlData>
      </mets:mdWrap>
    </mets:techMD>
${eventXml}    <mets:digiprovMD ID="digiprovMD_${id}_agent">
      <mets:mdWrap MDTYPE="PREMIS:AGENT">
        <mets:xmlData>
          <premis:agent xmlns:premis="${ns}" version="${ver}">
            <premis:agentIdentifier>
              <premis:agentIdentifierType>preservation system</premis:agentIdentifierType>
              <premis:agentIdentifierValue>Archivematica-1.15</premis:agentIdentifierValue>
            </premis:agentIdentifier>
            <premis:agentName>Archivematica</premis:agentName>
            <premis:agentType>software</premis:agentType>
          </premis:agent>
        </mets:xmlData>
      </mets:mdWrap>
    </mets:digiprovMD>
  </mets:amdSec>
`;
}
