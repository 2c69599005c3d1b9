// The verbs' --json output has one key convention: snake_case, as AtoM's database and gearmand's
// admin protocol spell things. Internal objects are camelCase; they are converted here, on the way out.

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** A copy of `value` with every object key in snake_case (for our own objects, never a job's result). */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [snakeCase(key), snakeCaseKeys(entry)]));
  }
  return value;
}
