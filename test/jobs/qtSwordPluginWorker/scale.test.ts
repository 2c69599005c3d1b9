// A 10,000-file DIP: it completes, reports progress up to the total, and memory stays within a
// loose bound. No wall-clock assertions (see bench/dip for timings).
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GenFile, type GeneratedDip, generateDip } from './dipGenerator.js';
import { DIP_FORMAT, type Sandbox, readManifest, readRows, recordingContext, runJob, sandbox } from './helpers.js';

const FILES = 10_000;

describe('scale', () => {
  let box: Sandbox;
  let dip: GeneratedDip;

  beforeAll(async () => {
    box = await sandbox();
    const files: GenFile[] = Array.from({ length: FILES }, (_, i) => ({
      path: `box-${String(i % 100).padStart(3, '0')}/file-${String(i).padStart(5, '0')}.jpg`,
      fitsPadding: 600,
      preservation: i % 10 === 0,
      access: i % 1000 === 999 ? false : undefined,
      dmd: i % 50 === 0 ? [{ dc: { title: `Titled ${i}`, subject: ['a', 'b'] } }] : undefined,
    }));
    dip = await generateDip(box.deposit, { name: 'big', files, objectsDmd: [{ dc: { title: 'Big accession' } }] });
  }, 120_000);

  afterAll(async () => {
    await box.cleanup();
  });

  it('ingests 10,000 files with progress, linearly', async () => {
    const rec = recordingContext(box.settings);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    sampler.unref();
    let result;
    try {
      result = await runJob({ id: 1, format: DIP_FORMAT, location: `file:///${dip.dipName}` }, rec);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);

    const skipped = FILES / 1000;
    expect(result).toMatchObject({ mode: 'flat', digitalObjects: FILES - skipped, skipped, descriptions: FILES - skipped + 1 });
    // The first 100 warnings are sent one by one, then a summary: here all 10 fit.
    expect(rec.warnings).toHaveLength(skipped);

    expect(rec.progress.at(-1)).toEqual([FILES, FILES]);
    expect(rec.progress.length).toBeGreaterThan(100);
    for (let i = 1; i < rec.progress.length; i += 1) {
      expect(rec.progress[i]?.[0]).toBeGreaterThanOrEqual(rec.progress[i - 1]?.[0] ?? 0);
      expect(rec.progress[i]?.[1]).toBe(FILES);
    }

    const rows = await readRows(result.outputDir);
    expect(rows).toHaveLength(FILES - skipped + 1);
    expect(rows[0]?.title).toBe('Big accession');
    expect(rows.slice(1).every((r) => r.parentId === rows[0]?.legacyId)).toBe(true);
    expect(rows.filter((r) => r.title.startsWith('Titled '))).toHaveLength(FILES / 50);
    expect(await readdir(path.join(result.outputDir, 'objects'))).toHaveLength(FILES - skipped);
    const manifest = await readManifest(result.outputDir);
    expect(manifest.aip.digitalObjectCount).toBe(FILES);

    // Loose sanity bound only: the METS is ~70 MB and memory must not follow it.
    const grownMiB = (peak - baseline) / 2 ** 20;
    console.log(`10k DIP: RSS grew by ${grownMiB.toFixed(0)} MiB (peak ${(peak / 2 ** 20).toFixed(0)} MiB)`);
    expect(grownMiB).toBeLessThan(1024);
  }, 120_000);
});
