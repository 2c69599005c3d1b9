// Small wording helpers shared by the CLI's tables and the worker's log lines.

/** `1 job`, `3 jobs` */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
