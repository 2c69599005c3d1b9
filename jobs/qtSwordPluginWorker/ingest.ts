// The DIP ingest, start to finish: locate, parse, map, write. Loaded lazily by index.ts.
import path from 'node:path';
import type { JobContext } from '../../src/types.js';
import { csvHeader, csvRecord, rowFor } from './csv.js';
import { type AipIdentity, aipIdentity, findMetsFile, indexAccessCopies } from './dip.js';
import { locateDip } from './locate.js';
import { buildManifest } from './manifest.js';
import { type DescriptionNode, type DipMode, type MappedDip, mapDip } from './map.js';
import { parseMets } from './mets/parse.js';
import { packageDir, writePackage } from './output.js';
import { type DipPayload, METS_ARCHIVEMATICA_DIP_FORMAT } from './payload.js';
import { sweepLeftovers } from './leftovers.js';
import { readDipSettings } from './settings.js';
import { DipError } from './util.js';
import type { AtomIngestResult } from './atom/ingest.js';

export interface DipResult {
  aipUuid: string;
  aipName: string;
  mode: DipMode;
  descriptions: number;
  digitalObjects: number;
  skipped: number;
  /** Warning messages (the first MAX_WARNINGS, then a summary line). */
  warnings: string[];
  /** `database`: written into AtoM's database (see `atom`); `csv`: an import package in `outputDir`. */
  output: 'csv' | 'database';
  outputDir?: string;
  atom?: AtomIngestResult;
  /** This AtoM job's ingest had committed already (a second delivery by gearmand): nothing was done again. */
  redelivered?: true;
}

const MAX_WARNINGS = 100;
const LOG_EVERY_MS = 5_000;

export async function ingestDip(payload: DipPayload, ctx: JobContext): Promise<DipResult> {
  if (payload.format !== METS_ARCHIVEMATICA_DIP_FORMAT) {
    throw new DipError(`Unsupported package format ${payload.format}: this job only ingests ${METS_ARCHIVEMATICA_DIP_FORMAT}`);
  }
  const settings = readDipSettings(ctx.settings);
  const { signal, log } = ctx;
  const swept = await sweepLeftovers(settings);
  if (swept.length > 0) log.info({ removed: swept }, 'removed the leftovers of killed DIP jobs');
  const started = Date.now();
  if (ctx.atomSite !== undefined && ctx.atom !== undefined && settings.output !== 'csv') {
    const { findIngestOfJob } = await import('./atom/previous.js');
    const done = await findIngestOfJob(ctx.atomSite.database, ctx.atom.jobId);
    if (done !== undefined) {
      log.info(`This job ingested AIP ${done.aipUuid} already (${done.descriptions} descriptions under ${done.targetSlug ?? done.targetId}): the job server delivered it again, nothing is done twice`);
      const { jobId: _jobId, targetId: _targetId, targetSlug: _targetSlug, slugs: _slugs, ...counts } = done;
      return { ...counts, warnings: [], output: 'database', redelivered: true };
    }
  }
  const located = await locateDip(payload, settings, signal);
  try {
    log.info({ dip: located.dipName, source: located.source.kind, extracted: located.extracted }, 'DIP located');
    const { path: metsPath, size: metsBytes } = await findMetsFile(located.dipDir, located.dipName);
    const aip = aipIdentity(located.dipName, path.basename(metsPath));
    let lastParseLog = Date.now();
    const model = await parseMets(metsPath, {
      signal,
      onRead: (bytesRead) => {
        const now = Date.now();
        if (now - lastParseLog < LOG_EVERY_MS) return;
        lastParseLog = now;
        log.info({ bytesRead, metsBytes }, 'Parsing METS');
      },
    });
    log.info(
      { mets: model.metsFileName, originals: model.originals.length, ms: Date.now() - started },
      'METS parsed',
    );
    const access = await indexAccessCopies(located.dipDir);
    const mapped = mapDip(model, { aip, access, stripExtensions: settings.stripExtensions });

    const warnings = new Warnings(ctx);
    for (const note of model.notes) warnings.add(note);
    for (const s of mapped.skipped) {
      warnings.add(`Skipped original ${s.fileId}${s.objectUUID ? ` (${s.objectUUID})` : ''}: ${s.reason}`);
    }
    const output = settings.output ?? (ctx.atomSite !== undefined ? 'database' : 'csv');
    if (output === 'database') {
      if (ctx.atomSite === undefined) {
        throw new DipError("dip_output is database, but AtoM's database is not configured (atom_database, or atom_root_dir with AtoM's config/config.php)");
      }
      const { ingestIntoAtom } = await import('./atom/ingest.js');
      const total = mapped.items.length + mapped.descriptions;
      let reported = 0;
      const atom = await ingestIntoAtom(
        {
          payload,
          settings,
          site: ctx.atomSite,
          located,
          aip,
          model,
          mapped,
          progress: (done) => {
            const now = Date.now();
            if (done < total && done - reported < Math.max(1, Math.floor(total / 200))) return;
            reported = done;
            ctx.progress(done, total);
            if (now - lastParseLog >= LOG_EVERY_MS) {
              lastParseLog = now;
              log.info({ done, total }, 'DIP ingest progress');
            }
          },
          warn: (message) => warnings.add(message),
        },
        ctx,
      );
      warnings.finish();
      if (reported < total) ctx.progress(total, total);
      const result: DipResult = { ...summary(aip, mapped, warnings), output, atom };
      log.info(
        `DIP ingested into AtoM: ${mapped.descriptions} descriptions and ${mapped.items.length} digital objects under ${atom.targetSlug ?? atom.targetId} (${atom.slugs.slice(0, 5).join(', ')}${atom.slugs.length > 5 ? ', ...' : ''}); ` +
          (atom.indexJobId !== null ? `search index update queued as job ${atom.indexJobId} (arUpdateEsIoDocumentsJob)` : 'the search index was not asked to update'),
      );
      log.info({ ...result, warnings: warnings.count, ms: Date.now() - started }, 'DIP ingested');
      return result;
    }
    warnings.finish();

    const total = mapped.items.length + mapped.skipped.length;
    const base = mapped.skipped.length;
    const step = Math.max(1, Math.floor(total / 200));
    let lastLog = Date.now();
    const finalDir = packageDir(settings.dipOutputDir, aip.uuid);
    const csvOptions = { parentSlug: payload.parentSlug ?? null, packageDir: finalDir };
    const outputDir = await writePackage(
      {
        items: mapped.items.map(({ node, access: copy }) => ({
          access: copy,
          setSize: (size: number) => {
            if (node.digitalObject !== null) node.digitalObject.size = size;
          },
        })),
        csv: function* () {
          yield csvHeader();
          const stack: DescriptionNode[] = [...mapped.roots].reverse();
          for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
            yield csvRecord(rowFor(node, csvOptions));
            for (let i = node.children.length - 1; i >= 0; i -= 1) {
              const child = node.children[i];
              if (child !== undefined) stack.push(child);
            }
          }
        },
        manifest: () => buildManifest({ payload, located, aip, model, mapped }),
      },
      {
        outputRoot: settings.dipOutputDir,
        aipUuid: aip.uuid,
        signal,
        onItem: (done) => {
          const n = base + done;
          if (done % step === 0 || n === total) ctx.progress(n, total);
          const now = Date.now();
          if (now - lastLog >= LOG_EVERY_MS) {
            lastLog = now;
            log.info({ done: n, total }, 'DIP ingest progress');
          }
        },
      },
    );
    if (mapped.items.length === 0) ctx.progress(total, total);

    const result: DipResult = { ...summary(aip, mapped, warnings), output, outputDir };
    log.info({ ...result, warnings: warnings.count, ms: Date.now() - started }, 'DIP ingested');
    return result;
  } finally {
    await located.cleanup();
  }
}

/** What every result says, whichever the output. */
function summary(aip: AipIdentity, mapped: MappedDip, warnings: Warnings): Omit<DipResult, 'output'> {
  return {
    aipUuid: aip.uuid,
    aipName: aip.name,
    mode: mapped.mode,
    descriptions: mapped.descriptions,
    digitalObjects: mapped.items.length,
    skipped: mapped.skipped.length,
    warnings: warnings.messages,
  };
}

/** Sends each warning to the client and the log, up to a limit, then one summary. */
class Warnings {
  readonly messages: string[] = [];
  count = 0;

  constructor(private readonly ctx: JobContext) {}

  add(message: string): void {
    this.count += 1;
    if (this.count > MAX_WARNINGS) return;
    this.messages.push(message);
    this.ctx.warning(message);
    this.ctx.log.warn(message);
  }

  finish(): void {
    if (this.count <= MAX_WARNINGS) return;
    const summary = `... and ${this.count - MAX_WARNINGS} more warnings`;
    this.messages.push(summary);
    this.ctx.warning(summary);
    this.ctx.log.warn({ warnings: this.count }, summary);
  }
}
