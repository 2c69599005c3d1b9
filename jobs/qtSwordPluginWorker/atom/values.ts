// Values as AtoM's PHP writes them: dates of a creation event (Qubit::parseDate), DATETIME
// strings in local time, and PHP's serialize() for the `language` property.

/** `Y-m-d H:i:s` in this process's time zone, as PHP's `new DateTime` formats it. */
export function localDateTime(at: Date = new Date()): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
}

/** METS CREATEDATE (`2017-03-07T19:13:55`) as DATETIME, keeping its wall time; undefined when unreadable. */
export function metsDateTime(value: string | undefined): string | undefined {
  const match = value === undefined ? null : /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})/.exec(value.trim());
  return match ? `${match[1]} ${match[2]}` : undefined;
}

/**
 * Qubit::parseDate, as the DATE column then stores it: `YYYY` → `YYYY-00-00`, `YYYY-MM` →
 * `YYYY-MM-00`, a full date as it is; anything else null.
 */
export function parseDate(value: string): string | null {
  const text = value.replace(/\//g, '-').trim();
  const partial = /^(\d{1,4})(?:-(0[1-9]|1[0-2]))?$/.exec(text);
  if (partial) return `${partial[1]!.padStart(4, '0')}-${partial[2] ?? '00'}-00`;
  const full = /^(\d{1,4})-(\d{1,2})-(\d{1,2})/.exec(text);
  if (!full) return null;
  const [year, month, day] = [Number(full[1]), Number(full[2]), Number(full[3])];
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** A creation date's start and end: only `A - B` or `A|B` is a range, as in QubitMetsParser. */
export function dateRange(value: string): { start: string | null; end: string | null } {
  const parts = value.replace(/ - /g, '|').split('|');
  if (parts.length !== 2) return { start: null, end: null };
  return { start: parseDate(parts[0]!), end: parseDate(parts[1]!) };
}

/** PHP serialize() of a list of strings: `a:1:{i:0;s:2:"en";}` (lengths in bytes). */
export function phpSerializeList(values: readonly string[]): string {
  return `a:${values.length}:{${values.map((value, i) => `i:${i};s:${Buffer.byteLength(value, 'utf8')}:"${value}";`).join('')}}`;
}

/** The date part of a PREMIS eventDateTime, for premis_object.date_ingested. */
export function dateOf(value: string | null | undefined): string | null {
  const match = value ? /^(\d{4}-\d{2}-\d{2})/.exec(value.trim()) : null;
  return match ? match[1]! : null;
}
