// Read config/gearman.yml: YAML → per-section validation → deep merge of root, `all` and the env section.
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { z } from 'zod';
import { ConfigError, describeReadError } from './errors.js';
import { knownAtomWorkerKeys, knownSectionKeys, type Section, sectionSchema } from './schema.js';

export interface LoadedConfig {
  /** The file read, as given. */
  readonly file: string;
  /** root < `all` < env section, deep-merged. */
  readonly section: Section;
  /** `file: key.path: unknown key` lines, for the caller to log as warnings. */
  readonly warnings: readonly string[];
}

type PlainObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Later wins; nested mappings merge key by key (as symfony merges `all:` with the environment). */
export function deepMerge(base: PlainObject, override: PlainObject): PlainObject {
  const result: PlainObject = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const existing = result[key];
    result[key] = isPlainObject(existing) && isPlainObject(value) ? deepMerge(existing, value) : value;
  }
  return result;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  return issue.message.replace(/^Invalid input: /, '').replace(/^./, (c) => c.toLowerCase());
}

function validateSection(file: string, prefix: string, raw: unknown, warnings: string[]): Section {
  if (raw === null || raw === undefined) return {};
  if (!isPlainObject(raw)) throw new ConfigError(file, prefix, `expected a mapping of settings, got ${describe(raw)}`);
  for (const key of Object.keys(raw)) {
    if (!knownSectionKeys.has(key)) warnings.push(`${file}: ${join(prefix, key)}: unknown key, ignored`);
  }
  const atomWorker = raw.atom_worker;
  if (isPlainObject(atomWorker)) {
    for (const key of Object.keys(atomWorker)) {
      if (!knownAtomWorkerKeys.has(key)) warnings.push(`${file}: ${join(prefix, `atom_worker.${key}`)}: unknown key, ignored`);
    }
  }
  const parsed = sectionSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keyPath = join(prefix, issue.path.map(String).join('.'));
    throw new ConfigError(file, keyPath, describeIssue(issue));
  }
  return parsed.data;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'nothing';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function join(prefix: string, key: string): string {
  if (!prefix) return key;
  return key ? `${prefix}.${key}` : prefix;
}

/** Parse YAML text already read from `file`. */
export function parseConfigText(file: string, text: string, env: string): LoadedConfig {
  let document: unknown;
  try {
    document = yaml.load(text, { filename: file });
  } catch (error) {
    if (error instanceof yaml.YAMLException) {
      const mark = error.mark as { line?: number; column?: number } | undefined;
      const where = mark?.line !== undefined ? `line ${mark.line + 1}, column ${(mark.column ?? 0) + 1}` : '';
      throw new ConfigError(file, '', `invalid YAML${where ? ` at ${where}` : ''}: ${error.reason}`);
    }
    throw error;
  }
  return parseConfigDocument(file, document, env, 'a YAML mapping');
}

/**
 * Validate settings given as an object (startWorker's `config`): the same shape and schema as the
 * file (top-level keys, `all:`, the env section), `source` naming it in messages.
 */
export function parseConfigDocument(file: string, document: unknown, env: string, expected = 'a mapping'): LoadedConfig {
  if (document === undefined || document === null) document = {};
  if (!isPlainObject(document)) throw new ConfigError(file, '', `expected ${expected} at the top level, got ${describe(document)}`);

  const warnings: string[] = [];
  // Settings may sit at the top level (`gearman_job_server: …`), under `all:`, or under the env section.
  const rootSettings: PlainObject = {};
  for (const [key, value] of Object.entries(document)) {
    if (knownSectionKeys.has(key)) rootSettings[key] = value;
  }
  const root = validateSection(file, '', rootSettings, warnings);
  const all = validateSection(file, 'all', document.all, warnings);
  const envSection = env === 'all' ? {} : validateSection(file, env, document[env], warnings);
  const section = deepMerge(deepMerge(root as PlainObject, all as PlainObject), envSection as PlainObject) as Section;
  return { file, section, warnings };
}

export function loadConfigFile(file: string, env: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, '', `cannot read the configuration (${describeReadError(error)}); pass --config FILE or create it`);
  }
  return parseConfigText(file, text, env);
}
