// Test helpers: a recording JobContext, a job runner and an RFC 4180 CSV reader.
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach } from 'vitest';
import job, { PayloadSchema } from '../../../jobs/qtSwordPluginWorker/index.js';
import type { DipResult } from '../../../jobs/qtSwordPluginWorker/index.js';
import type { JobContext } from '../../../src/types.js';
import { tempDir } from '../../harness/worker.js';

export const DIP_FORMAT = 'http://purl.org/net/sword-types/METSArchivematicaDIP';

export interface Recorded {
  ctx: JobContext;
  progress: [number, number][];
  warnings: string[];
  controller: AbortController;
}

export function recordingContext(settings: Record<string, unknown>): Recorded {
  const progress: [number, number][] = [];
  const warnings: string[] = [];
  const controller = new AbortController();
  const ctx: JobContext = {
    log: pino({ level: 'silent' }),
    progress: (n, d) => progress.push([n, d]),
    data: () => undefined,
    warning: (m) => warnings.push(m),
    signal: controller.signal,
    job: { handle: 'H:test:1', unique: '', function: 'qtSwordPluginWorker', name: 'qtSwordPluginWorker' },
    settings,
  };
  return { ctx, progress, warnings, controller };
}

/** Validate a raw payload as the runtime does, then run the job. */
export async function runJob(raw: unknown, rec: Recorded): Promise<DipResult> {
  const payload = PayloadSchema.parse(raw);
  return job.run(payload, rec.ctx);
}

export interface Sandbox {
  root: string;
  deposit: string;
  output: string;
  temp: string;
  settings: Record<string, unknown>;
  cleanup(): Promise<void>;
}

export async function sandbox(extra: Record<string, unknown> = {}): Promise<Sandbox> {
  const root = tempDir({}, 'dip-test-');
  const deposit = path.join(root, 'deposit');
  const output = path.join(root, 'output');
  const temp = path.join(root, 'tmp');
  await mkdir(deposit);
  await mkdir(temp);
  return {
    root,
    deposit,
    output,
    temp,
    settings: { sword_deposit_dir: deposit, dip_output_dir: output, temp_dir: temp, ...extra },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** A fresh sandbox for every test of the file (or describe block) this is called in. */
export function sandboxEach(): Sandbox {
  const box = {} as Sandbox;
  beforeEach(async () => {
    Object.assign(box, await sandbox());
  });
  afterEach(async () => {
    await box.cleanup();
  });
  return box;
}

/** Parse RFC 4180 CSV into records of strings. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        continue;
      }
      field += c;
      i += 1;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      i += 1;
    } else if (c === ',') {
      record.push(field);
      field = '';
      i += 1;
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 2;
    } else {
      field += c;
      i += 1;
    }
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

/** CSV text as objects keyed by the header's columns. */
export function csvRows(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) throw new Error('empty CSV');
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

/** descriptions.csv as objects keyed by column. */
export async function readRows(packageDir: string): Promise<Record<string, string>[]> {
  return csvRows(await readFile(path.join(packageDir, 'descriptions.csv'), 'utf8'));
}

export async function readManifest(packageDir: string): Promise<Manifest> {
  return JSON.parse(await readFile(path.join(packageDir, 'manifest.json'), 'utf8')) as Manifest;
}

export interface ManifestNode {
  legacyId: string;
  parentId: string | null;
  kind: string;
  title: string;
  levelOfDescription: string;
  dublinCore: { dmdSecId: string; elements: { name: string; value: string }[] } | null;
  digitalObject: { fileName: string; path: string; size: number } | null;
  archivematica: Record<string, unknown> | null;
  children: ManifestNode[];
}

export interface Manifest {
  aip: { uuid: string; name: string; digitalObjectCount: number; sizeOnDisk: number; createdAt: string | null };
  source: { mode: string; metsFile: string };
  target: { levelOfDescription: string | null; parentSlug: string | null };
  counts: { descriptions: number; digitalObjects: number; skipped: number };
  skipped: { fileId: string; objectUUID: string | null; reason: string }[];
  tree: ManifestNode[];
}

export function flatten(nodes: ManifestNode[]): ManifestNode[] {
  return nodes.flatMap((n) => [n, ...flatten(n.children)]);
}

/** Every path (files and folders) under a folder, relative, sorted. */
export async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).sort();
}
