// Plain-text tables for the verbs' human output (their --json output is the machine form).

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `37 s`, `4 min 10 s`, `2 h 5 min` */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * A point in time from the command line: an ISO date/time (`2024-05-01`, `2024-05-01T10:00`), epoch
 * milliseconds, or an age (`30s`, `15m`, `2h`, `7d`, `1w`) counted back from now.
 */
export function parseTimeArgument(value: string, now = Date.now()): number {
  const age = /^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$/i.exec(value.trim());
  if (age) {
    const unit = { s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[age[2]!.toLowerCase() as 's'];
    return now - Number(age[1]) * unit;
  }
  if (/^\d{12,}$/.test(value)) return Number(value);
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new Error(`"${value}" is not a date (2024-05-01, 2024-05-01T10:00) or an age (30m, 2h, 7d)`);
  return parsed;
}

export { plural } from '../text.js';
