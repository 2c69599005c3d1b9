// Discover job modules in folders, as graphile-worker discovers tasks: one module per file name,
// `<name>.js`/`.mjs` or `<name>/index.js`/`index.mjs`. Each default-exports a job definition.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JobDefinition } from '../types.js';

/** A job definition checked at load time, with where it came from. */
export interface LoadedJob {
  readonly name: string;
  readonly file: string;
  readonly definition: JobDefinition<unknown, unknown>;
  /** 'json' (parse only), 'raw' (Buffer) or 'schema' (parse then validate). */
  readonly payloadMode: 'json' | 'raw' | 'schema';
  readonly timeoutMs: number | undefined;
}

export class JobLoadError extends Error {
  override readonly name = 'JobLoadError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

const MODULE_EXTENSIONS = ['.js', '.mjs', '.cjs'];
const JOB_NAME = /^[A-Za-z0-9_.:-]+$/;

function isModuleFile(name: string): boolean {
  return MODULE_EXTENSIONS.some((ext) => name.endsWith(ext)) && !name.startsWith('.') && !name.startsWith('_');
}

/** The module files a folder holds, sorted by name for a stable registration order. */
export function findJobModules(dir: string): string[] {
  if (!existsSync(dir)) throw new JobLoadError(dir, 'jobs folder not found');
  if (!statSync(dir).isDirectory()) throw new JobLoadError(dir, 'not a folder');
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const index = ['index.js', 'index.mjs', 'index.cjs'].map((name) => path.join(full, name)).find((file) => existsSync(file));
      if (index) found.push(index);
      else if (existsSync(path.join(full, 'index.ts'))) {
        throw new JobLoadError(path.join(full, 'index.ts'), 'TypeScript job modules must be compiled first (npm run build puts the repo\'s jobs in dist/jobs)');
      }
    } else if (isModuleFile(entry.name)) {
      found.push(full);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      throw new JobLoadError(full, 'TypeScript job modules must be compiled first (npm run build puts the repo\'s jobs in dist/jobs)');
    }
  }
  return found;
}

function moduleBaseName(file: string): string {
  const base = path.basename(file).replace(/\.(c|m)?js$/, '');
  return base === 'index' ? path.basename(path.dirname(file)) : base;
}

function hasSafeParse(value: unknown): value is { safeParse: (input: unknown) => unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { safeParse?: unknown }).safeParse === 'function';
}

/** Check a module's export and turn it into a LoadedJob, or say exactly what is wrong. */
export function validateDefinition(file: string, exported: unknown): LoadedJob {
  if (typeof exported !== 'object' || exported === null) {
    throw new JobLoadError(file, 'the default export must be a job definition object { name, payload?, timeout?, run(payload, ctx) }');
  }
  const candidate = exported as Record<string, unknown>;
  if (typeof candidate.run !== 'function') throw new JobLoadError(file, 'the job definition has no run(payload, ctx) function');
  const name = candidate.name === undefined ? moduleBaseName(file) : candidate.name;
  if (typeof name !== 'string' || !JOB_NAME.test(name)) {
    throw new JobLoadError(file, `job name ${JSON.stringify(name)} must be a non-empty string of letters, digits, _ . : -`);
  }
  let payloadMode: LoadedJob['payloadMode'];
  if (candidate.payload === undefined) payloadMode = 'json';
  else if (candidate.payload === 'raw') payloadMode = 'raw';
  else if (hasSafeParse(candidate.payload)) payloadMode = 'schema';
  else throw new JobLoadError(file, "payload must be a zod schema, 'raw', or absent");
  if (candidate.start !== undefined && typeof candidate.start !== 'function') throw new JobLoadError(file, 'start, if given, must be a function');
  const timeout = candidate.timeout;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout <= 0)) {
    throw new JobLoadError(file, `timeout must be a positive whole number of milliseconds, got ${JSON.stringify(timeout)}`);
  }
  return {
    name,
    file,
    definition: candidate as unknown as JobDefinition<unknown, unknown>,
    payloadMode,
    timeoutMs: timeout,
  };
}

async function importJob(file: string): Promise<LoadedJob> {
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new JobLoadError(file, `cannot load module: ${message}`);
  }
  // A module without a default export may export the definition's fields directly.
  const exported = 'default' in namespace ? namespace.default : namespace.run ? namespace : undefined;
  if (exported === undefined) throw new JobLoadError(file, 'no default export (export default { name, run(payload, ctx) { … } })');
  return validateDefinition(file, exported);
}

/** Add a loaded job; a name already taken is an error naming both places. */
export function addJob(jobs: Map<string, LoadedJob>, job: LoadedJob): void {
  const existing = jobs.get(job.name);
  if (existing) throw new JobLoadError(job.file, `duplicate job name "${job.name}" (also defined in ${existing.file})`);
  jobs.set(job.name, job);
}

/** Load every job module in the folders; duplicate names are an error naming both files. */
export async function loadJobs(dirs: readonly string[]): Promise<Map<string, LoadedJob>> {
  const jobs = new Map<string, LoadedJob>();
  for (const dir of dirs) {
    for (const file of findJobModules(dir)) addJob(jobs, await importJob(file));
  }
  return jobs;
}
