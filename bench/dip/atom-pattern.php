<?php
// AtoM's way of reading a DIP's METS, for comparison in the same benchmark run: the whole file as
// one SimpleXML document, then XPath queries over the whole document for every original file
// (its amdSec's UUID, its original name, its PREMIS data), as QubitMetsParser and the METS DIP
// extractor query it. Written for this benchmark (no AtoM code); reads only, writes nothing.
// Usage: php -d memory_limit=-1 atom-pattern.php METS.xml  → {"files":N,"ms":T,"msPerFile":t}
$file = $argv[1];
$started = microtime(true);
$xml = simplexml_load_file($file);
$ns = ['m' => 'http://www.loc.gov/METS/', 'premis' => 'http://www.loc.gov/premis/v3', 'xlink' => 'http://www.w3.org/1999/xlink'];
foreach ($ns as $prefix => $uri) $xml->registerXPathNamespace($prefix, $uri);
$register = function ($node) use ($ns) { foreach ($ns as $prefix => $uri) $node->registerXPathNamespace($prefix, $uri); return $node; };

// The mappings, before any row: file ID → UUID through its amdSec, file ID → DMDID through the structMaps.
$uuids = [];
foreach ($xml->xpath('//m:fileSec/m:fileGrp[@USE="original"]/m:file') as $f) {
  $id = (string) $f['ID'];
  $adm = (string) $f['ADMID'];
  $found = $xml->xpath("//m:amdSec[@ID='$adm']//premis:objectIdentifier[premis:objectIdentifierType='UUID']/premis:objectIdentifierValue");
  if ($found) $uuids[$id] = (string) end($found);
}
$dmd = [];
foreach ($xml->xpath('//m:structMap//m:div[m:fptr]') as $div) {
  $register($div);
  $fptr = $div->xpath('m:fptr');
  $dmd[(string) $fptr[0]['FILEID']] = (string) $div['DMDID'];
}
// Per original: its title from the original name, then its PREMIS data from its amdSec.
$count = 0;
foreach ($uuids as $id => $uuid) {
  $adm = $xml->xpath("//m:file[@ID='$id']/@ADMID");
  $admId = $adm ? (string) $adm[0] : '';
  $names = $xml->xpath("//m:amdSec[@ID='$admId']//premis:originalName");
  $title = $names ? basename((string) $names[0]) : '';
  $file = $xml->xpath("//m:fileGrp[@USE='original']/m:file[contains(@ID, '$uuid')]");
  if ($file) {
    $adm = (string) $file[0]['ADMID'];
    $amd = $xml->xpath("//m:amdSec[@ID='$adm']");
    if ($amd) {
      $register($amd[0]);
      $size = $amd[0]->xpath('m:techMD/m:mdWrap[@MDTYPE="PREMIS:OBJECT"]/m:xmlData/premis:object/premis:objectCharacteristics/premis:size');
      $format = $amd[0]->xpath('m:techMD/m:mdWrap[@MDTYPE="PREMIS:OBJECT"]/m:xmlData/premis:object/premis:objectCharacteristics/premis:format/premis:formatDesignation/premis:formatName');
      $events = $amd[0]->xpath('m:digiprovMD/m:mdWrap[@MDTYPE="PREMIS:EVENT"]/m:xmlData/premis:event');
    }
  }
  $count++;
}
$ms = (microtime(true) - $started) * 1000;
echo json_encode(['files' => $count, 'ms' => round($ms), 'msPerFile' => $ms / max(1, $count)]), "\n";
