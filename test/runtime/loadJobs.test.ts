import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findJobModules, JobLoadError, loadJobs } from '../../src/runtime/loadJobs.js';
import { repoRoot, tempDir } from '../harness/worker.js';

async function loadError(dirs: string[]): Promise<JobLoadError> {
  try {
    await loadJobs(dirs);
  } catch (error) {
    if (error instanceof JobLoadError) return error;
    throw error;
  }
  throw new Error('expected a JobLoadError');
}

describe('job module discovery', () => {
  it('loads plain .mjs modules and folder modules, named by definition or by file', async () => {
    const dir = tempDir({
      'hello.mjs': 'export default { name: "hello", run: (p) => p };',
      'unnamed.mjs': 'export default { run: () => "x", timeout: 500 };',
      'folder/index.mjs': 'export default { name: "inFolder", payload: "raw", run: (b) => b };',
      'helpers/util.mjs': 'export const x = 1;',
      '_private.mjs': 'throw new Error("must not be imported");',
      'notes.txt': 'ignored',
    });
    const jobs = await loadJobs([dir]);
    expect([...jobs.keys()].sort()).toEqual(['hello', 'inFolder', 'unnamed']);
    expect(jobs.get('unnamed')!.timeoutMs).toBe(500);
    expect(jobs.get('inFolder')!.payloadMode).toBe('raw');
    expect(jobs.get('hello')!.payloadMode).toBe('json');
    expect(jobs.get('hello')!.file).toBe(path.join(dir, 'hello.mjs'));
  });

  it('accepts a module that exports the fields without a default export', async () => {
    const dir = tempDir({ 'named.mjs': 'export const name = "named"; export function run() { return 1; }' });
    expect([...(await loadJobs([dir])).keys()]).toEqual(['named']);
  });

  it('loads the built-in jobs that the build compiles into dist/jobs', async () => {
    const jobs = await loadJobs([path.join(repoRoot, 'dist', 'jobs')]);
    expect([...jobs.keys()].sort()).toEqual(['atomWorkerTest', 'qtSwordPluginWorker']);
    expect(jobs.get('qtSwordPluginWorker')!.payloadMode).toBe('schema');
  });
});

describe('job module errors name the file', () => {
  it('a module that throws on import', async () => {
    const dir = tempDir({ 'broken.mjs': 'throw new Error("syntax of the universe");' });
    const error = await loadError([dir]);
    expect(error.file).toBe(path.join(dir, 'broken.mjs'));
    expect(error.message).toContain('cannot load module: syntax of the universe');
  });

  it('a syntax error', async () => {
    const dir = tempDir({ 'bad.mjs': 'export default { run( };' });
    expect((await loadError([dir])).message).toMatch(/bad\.mjs: cannot load module/);
  });

  it('no run function', async () => {
    const dir = tempDir({ 'norun.mjs': 'export default { name: "x" };' });
    expect((await loadError([dir])).message).toMatch(/norun\.mjs: the job definition has no run\(payload, ctx\) function/);
  });

  it('a default export that is not an object', async () => {
    const dir = tempDir({ 'fn.mjs': 'export default 42;' });
    expect((await loadError([dir])).problem).toMatch(/default export must be a job definition object/);
  });

  it('a bad name, payload or timeout', async () => {
    expect((await loadError([tempDir({ 'a.mjs': 'export default { name: "has space", run() {} };' })])).problem).toMatch(/job name/);
    expect((await loadError([tempDir({ 'a.mjs': 'export default { payload: {}, run() {} };' })])).problem).toMatch(/payload must be a zod schema/);
    expect((await loadError([tempDir({ 'a.mjs': 'export default { timeout: -5, run() {} };' })])).problem).toMatch(/timeout must be a positive/);
  });

  it('duplicate names, naming both files', async () => {
    const first = tempDir({ 'one.mjs': 'export default { name: "same", run() {} };' });
    const second = tempDir({ 'two.mjs': 'export default { name: "same", run() {} };' });
    const error = await loadError([first, second]);
    expect(error.file).toBe(path.join(second, 'two.mjs'));
    expect(error.problem).toContain(path.join(first, 'one.mjs'));
  });

  it('an uncompiled TypeScript module', async () => {
    const dir = tempDir({ 'job.ts': 'export default {}' });
    expect((await loadError([dir])).problem).toMatch(/must be compiled first/);
  });

  it('a missing folder', async () => {
    expect((await loadError(['/nonexistent/jobs'])).message).toBe('/nonexistent/jobs: jobs folder not found');
  });
});
