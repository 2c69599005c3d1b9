#!/usr/bin/env node
// Generate a large Archivematica-shaped DIP for benchmarking the qtSwordPluginWorker job.
// Usage: node bench/dip/generate.mjs <parent-dir> [files=10000] [--hierarchical] [--fits=<bytes>]
// Prints the DIP folder name. Deterministic: the same arguments give the same DIP.
import { mkdir, open, writeFile } from 'node:fs/promises';
import path from 'node:path';

const [parent = 'bench/out', countArg = '10000', ...flags] = process.argv.slice(2);
const count = Number(countArg);
const hierarchical = flags.includes('--hierarchical');
const fitsFlag = flags.find((f) => f.startsWith('--fits='));
const fits = 'x'.repeat(fitsFlag ? Number(fitsFlag.slice(7)) : 1500); // tool output the parser must skip
const uuid = (n, p) => `${p.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const aipUuid = uuid(count, 0xa1b);
const dipName = `bench-${count}${hierarchical ? '-h' : ''}${fitsFlag ? `-f${fits.length}` : ''}-${aipUuid}`;
const dipDir = path.join(parent, dipName);
await mkdir(path.join(dipDir, 'objects'), { recursive: true });

const P3 = 'http://www.loc.gov/premis/v3';
const files = Array.from({ length: count }, (_, i) => ({
  uuid: uuid(i + 1, 0xf11e),
  dir: `box-${String(i % 200).padStart(3, '0')}`,
  name: `file-${String(i).padStart(6, '0')}.tif`,
}));

function* mets() {
  yield `<?xml version='1.0' encoding='UTF-8'?>\n<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n  <mets:metsHdr CREATEDATE="2024-01-01T00:00:00"/>\n`;
  yield `  <mets:dmdSec ID="dmdSec_1" CREATED="2024-01-01T00:00:00"><mets:mdWrap MDTYPE="DC"><mets:xmlData><dcterms:dublincore xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Bench accession</dc:title></dcterms:dublincore></mets:xmlData></mets:mdWrap></mets:dmdSec>\n`;
  for (const [i, f] of files.entries()) {
    yield `  <mets:amdSec ID="amdSec_${i + 1}"><mets:techMD ID="techMD_${i + 1}"><mets:mdWrap MDTYPE="PREMIS:OBJECT"><mets:xmlData>
    <premis:object xmlns:premis="${P3}" xsi:type="premis:file" version="3.0">
      <premis:objectIdentifier><premis:objectIdentifierType>UUID</premis:objectIdentifierType><premis:objectIdentifierValue>${f.uuid}</premis:objectIdentifierValue></premis:objectIdentifier>
      <premis:objectCharacteristics><premis:compositionLevel>0</premis:compositionLevel>
        <premis:fixity><premis:messageDigestAlgorithm>sha256</premis:messageDigestAlgorithm><premis:messageDigest>${'cd'.repeat(32)}</premis:messageDigest></premis:fixity>
        <premis:size>${1000 + i}</premis:size>
        <premis:format><premis:formatDesignation><premis:formatName>TIFF</premis:formatName></premis:formatDesignation><premis:formatRegistry><premis:formatRegistryName>PRONOM</premis:formatRegistryName><premis:formatRegistryKey>fmt/353</premis:formatRegistryKey></premis:formatRegistry></premis:format>
        <premis:objectCharacteristicsExtension><fits xmlns="http://hul.harvard.edu/ois/xml/ns/fits/fits_output"><identification><identity format="TIFF" mimetype="image/tiff"/></identification><fileinfo><size>1</size></fileinfo><toolOutput><tool name="x"><raw>${fits}</raw></tool></toolOutput></fits></premis:objectCharacteristicsExtension>
      </premis:objectCharacteristics>
      <premis:originalName>%transferDirectory%objects/${f.dir}/${f.name}</premis:originalName>
    </premis:object></mets:xmlData></mets:mdWrap></mets:techMD>
    <mets:digiprovMD ID="digiprovMD_${i + 1}"><mets:mdWrap MDTYPE="PREMIS:EVENT"><mets:xmlData><premis:event xmlns:premis="${P3}"><premis:eventType>ingestion</premis:eventType><premis:eventDateTime>2024-01-01T00:00:00+00:00</premis:eventDateTime><premis:eventDetailInformation><premis:eventDetail>${fits.slice(0, 300)}</premis:eventDetail></premis:eventDetailInformation></premis:event></mets:xmlData></mets:mdWrap></mets:digiprovMD>
  </mets:amdSec>\n`;
  }
  yield '  <mets:fileSec><mets:fileGrp USE="original">\n';
  for (const [i, f] of files.entries()) {
    yield `    <mets:file GROUPID="Group-${f.uuid}" ID="file-${f.uuid}" ADMID="amdSec_${i + 1}"><mets:FLocat xlink:href="objects/${f.dir}/${f.name}" LOCTYPE="OTHER" OTHERLOCTYPE="SYSTEM"/></mets:file>\n`;
  }
  yield '  </mets:fileGrp></mets:fileSec>\n';
  const byDir = new Map();
  for (const f of files) byDir.set(f.dir, [...(byDir.get(f.dir) ?? []), f]);
  const map = function* (label, type, withPtr, hier) {
    yield `  <mets:structMap TYPE="${type}" LABEL="${label}"><mets:div LABEL="${dipName}"${hier ? '' : ' TYPE="Directory"'}><mets:div LABEL="objects" TYPE="${hier ? 'Fonds' : 'Directory'}"${hier ? '' : ' DMDID="dmdSec_1"'}>\n`;
    for (const [dir, list] of byDir) {
      yield `    <mets:div LABEL="${dir}" TYPE="${hier ? 'Series' : 'Directory'}">\n`;
      for (const f of list) {
        yield withPtr
          ? `      <mets:div LABEL="${f.name}" TYPE="Item"><mets:fptr FILEID="file-${f.uuid}"/></mets:div>\n`
          : `      <mets:div LABEL="${f.name}" TYPE="Item"/>\n`;
      }
      yield '    </mets:div>\n';
    }
    yield '  </mets:div></mets:div></mets:structMap>\n';
  };
  yield* map('Archivematica default', 'physical', true, false);
  yield* map('Normative Directory Structure', 'logical', false, false);
  if (hierarchical) yield* map('Hierarchical', 'logical', true, true);
  yield '</mets:mets>\n';
}

const handle = await open(path.join(dipDir, `METS.${aipUuid}.xml`), 'w');
let batch = [];
for (const chunk of mets()) {
  batch.push(chunk);
  if (batch.length >= 2000) {
    await handle.write(batch.join(''));
    batch = [];
  }
}
await handle.write(batch.join(''));
await handle.close();
for (let i = 0; i < files.length; i += 100) {
  await Promise.all(
    files.slice(i, i + 100).map((f) => writeFile(path.join(dipDir, 'objects', `${f.uuid}-${f.name}`), `access ${f.name}\n`)),
  );
}
console.log(dipName);
