// descriptions.csv in AtoM's information object CSV import format (ISAD template columns,
// lib/task/import/example/isad/example_information_objects_isad.csv), for `php symfony csv:import`.
// RFC 4180: comma separated, CRLF between records, fields quoted when needed, UTF-8 without BOM.
// Newlines inside fields are kept as they are.
import type { DescriptionNode } from './map.js';

export const CSV_COLUMNS = [
  'legacyId',
  'parentId',
  'qubitParentSlug',
  'accessionNumber',
  'identifier',
  'title',
  'levelOfDescription',
  'extentAndMedium',
  'repository',
  'archivalHistory',
  'acquisition',
  'scopeAndContent',
  'appraisal',
  'accruals',
  'arrangement',
  'accessConditions',
  'reproductionConditions',
  'language',
  'script',
  'languageNote',
  'physicalCharacteristics',
  'findingAids',
  'locationOfOriginals',
  'locationOfCopies',
  'relatedUnitsOfDescription',
  'publicationNote',
  'digitalObjectPath',
  'digitalObjectURI',
  'generalNote',
  'subjectAccessPoints',
  'placeAccessPoints',
  'nameAccessPoints',
  'genreAccessPoints',
  'descriptionIdentifier',
  'institutionIdentifier',
  'rules',
  'descriptionStatus',
  'levelOfDetail',
  'revisionHistory',
  'languageOfDescription',
  'scriptOfDescription',
  'sources',
  'archivistNote',
  'publicationStatus',
  'physicalObjectName',
  'physicalObjectLocation',
  'physicalObjectType',
  'alternativeIdentifiers',
  'alternativeIdentifierLabels',
  'eventDates',
  'eventTypes',
  'eventStartDates',
  'eventEndDates',
  'eventActors',
  'eventActorHistories',
  'culture',
] as const;

export type CsvColumn = (typeof CSV_COLUMNS)[number];
export type CsvRow = Partial<Record<CsvColumn, string>>;

/** AtoM splits these columns on `|`. */
const MULTI_SEPARATOR = '|';

export interface CsvOptions {
  /** Slug of the existing description the top rows go under. */
  parentSlug: string | null;
  /** Absolute folder the digital object paths are resolved against (the final package folder). */
  packageDir: string;
}

/** One row for a description. */
export function rowFor(node: DescriptionNode, options: CsvOptions): CsvRow {
  const row: CsvRow = {
    legacyId: node.legacyId,
    parentId: node.parentId ?? '',
    qubitParentSlug: node.parentId === null ? (options.parentSlug ?? '') : '',
    title: node.title,
    levelOfDescription: node.levelOfDescription,
  };
  const f = node.fields;
  if (f !== null) {
    setIf(row, 'identifier', f.identifier);
    setIf(row, 'scopeAndContent', f.scopeAndContent);
    setIf(row, 'extentAndMedium', f.extentAndMedium);
    setIf(row, 'locationOfOriginals', f.locationOfOriginals);
    setIf(row, 'accessConditions', f.accessConditions);
    setIf(row, 'acquisition', f.acquisition);
    setIf(row, 'language', joinMulti(f.language));
    setIf(row, 'subjectAccessPoints', joinMulti(f.subjectAccessPoints));
    setIf(row, 'placeAccessPoints', joinMulti(f.placeAccessPoints));
    setIf(row, 'nameAccessPoints', joinMulti(f.nameAccessPoints));
    if (f.creators.length > 0 || f.date !== undefined) {
      // One creation event per creator, all with the DC date; a date alone makes one event.
      const actors = f.creators.length > 0 ? f.creators : [''];
      // A `|` in the date would split the event lists: write ranges with " - " as AtoM shows them.
      const date = f.date?.replace(/\s*\|\s*/g, ' - ') ?? '';
      const [start, end] = dateRange(date);
      row.eventActors = actors.map(clean).join(MULTI_SEPARATOR);
      row.eventTypes = actors.map(() => 'Creation').join(MULTI_SEPARATOR);
      row.eventDates = actors.map(() => date).join(MULTI_SEPARATOR);
      row.eventStartDates = actors.map(() => start).join(MULTI_SEPARATOR);
      row.eventEndDates = actors.map(() => end).join(MULTI_SEPARATOR);
    }
  }
  if (node.digitalObject !== null) {
    row.digitalObjectPath = `${options.packageDir}/${node.digitalObject.path}`;
  }
  return row;
}

/** Start and end dates (YYYY-MM-DD) of a "start - end" range of two full dates, else empty. */
function dateRange(date: string): [string, string] {
  const parts = date.split(' - ');
  if (parts.length !== 2) return ['', ''];
  const [a, b] = parts.map((p) => p.trim());
  const iso = /^\d{4}-\d{2}-\d{2}$/;
  return a !== undefined && b !== undefined && iso.test(a) && iso.test(b) ? [a, b] : ['', ''];
}

function setIf(row: CsvRow, column: CsvColumn, value: string | undefined): void {
  if (value !== undefined && value !== '') row[column] = value;
}

function joinMulti(values: readonly string[]): string | undefined {
  return values.length === 0 ? undefined : values.map(clean).join(MULTI_SEPARATOR);
}

/** A value inside a `|` list cannot hold a `|` itself. */
function clean(value: string): string {
  return value.replace(/\s*\|\s*/g, ' / ');
}

export function csvHeader(): string {
  return formatRecord(CSV_COLUMNS);
}

export function csvRecord(row: CsvRow): string {
  return formatRecord(CSV_COLUMNS.map((c) => row[c] ?? ''));
}

function formatRecord(fields: readonly string[]): string {
  return `${fields.map(quote).join(',')}\r\n`;
}

/** RFC 4180 field quoting. */
export function quote(field: string): string {
  return /[",\r\n]/.test(field) || /^\s|\s$/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}
