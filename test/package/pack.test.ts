// The package as a consumer gets it: `npm pack`, then install the tarball into a fresh project and
// use it there (the CLI, `import('atom-worker')`, a TypeScript job compiled against its types).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../harness/worker.js';

const NATIVE = ['better-sqlite3', 'unix-dgram'];

function run(command: string, args: readonly string[], cwd: string, timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the packed package, installed into a fresh project', () => {
  let tarball: string;
  let files: string[];
  let project: string;

  beforeAll(() => {
    const out = tempDir();
    // --ignore-scripts: npm test has built dist/; prepare would rebuild it under the other tests' workers.
    const packed = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], repoRoot);
    expect(packed.status, packed.stderr).toBe(0);
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = path.join(out, info!.filename);
    files = info!.files.map((file) => file.path);

    project = tempDir();
    // As the README tells consumers: the two native modules' install scripts must be allowed.
    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module', allowScripts: Object.fromEntries(NATIVE.map((name) => [name, true])) }),
    );
    // The native modules this checkout already built, so the install does not compile them from
    // source again (minutes, where prebuilt binaries cannot be fetched): npm keeps an installed
    // package that satisfies the range and does not rerun its install script.
    for (const name of NATIVE) cpSync(path.join(repoRoot, 'node_modules', name), path.join(project, 'node_modules', name), { recursive: true });
    const installed = run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], project, 150_000);
    expect(installed.status, installed.stderr).toBe(0);
  }, 180_000);

  it('ships dist/, the launcher and the sample config, and leaves out tests, benchmarks and CI', () => {
    expect(files).toEqual(expect.arrayContaining(['bin/atom-worker', 'dist/src/cli/index.js', 'dist/src/index.d.ts', 'dist/jobs/atomWorkerTest.js', 'config/gearman.yml', 'README.md']));
    // scripts/build-native.mjs is the install script that compiles the shutdown watchdog (native/).
    expect(files).toEqual(expect.arrayContaining(['binding.gyp', 'native/watchdog.c', 'scripts/build-native.mjs']));
    expect(files.filter((file) => file !== 'scripts/build-native.mjs' && (/^(test|bench|\.ci|src|jobs\/.*\.ts$|scripts)\//.test(file) || file.startsWith('src/')))).toEqual([]);
  });

  it('runs `atom-worker --version` and `atom-worker check --offline` with the built-in jobs', () => {
    const bin = path.join(project, 'node_modules', '.bin', 'atom-worker');
    const version = run(bin, ['--version'], project);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version);
    const check = run(bin, ['check', '--offline', '--servers', '127.0.0.1:4730', '--no-journal', '--json'], project);
    expect(check.status, check.stderr).toBe(0);
    const report = JSON.parse(check.stdout) as { ok: boolean; functions: Array<{ job: string }> };
    expect(report.ok).toBe(true);
    expect(report.functions.map((entry) => entry.job).sort()).toEqual(['atomWorkerTest', 'qtSwordPluginWorker']);
  });

  it("imports defineJob from 'atom-worker'", () => {
    const imported = run(process.execPath, ['--input-type=module', '-e', "const m = await import('atom-worker'); console.log(typeof m.defineJob, m.defineJob({ name: 'x', run: () => 1 }).name)"], project);
    expect(imported.stderr).toBe('');
    expect(imported.stdout.trim()).toBe('function x');
  });

  it("compiles a TypeScript job against the package's types (zod 4 schema, 'raw' as a Buffer) and runs it beside the built-in jobs", () => {
    mkdirSync(path.join(project, 'jobs'));
    writeFileSync(
      path.join(project, 'jobs', 'countBytes.ts'),
      `import { defineJob } from 'atom-worker';
export default defineJob({
  payload: 'raw',
  run(payload) {
    const bytes: Buffer = payload;
    return { bytes: bytes.length };
  },
});
`,
    );
    writeFileSync(
      path.join(project, 'jobs', 'double.ts'),
      `import { z } from 'zod';
import { defineJob } from 'atom-worker';
export default defineJob({
  payload: z.object({ n: z.number() }),
  run(payload) {
    return { doubled: payload.n * 2 };
  },
});
`,
    );
    const tsconfig = {
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'built', rootDir: 'jobs', skipLibCheck: true, typeRoots: [path.join(repoRoot, 'node_modules', '@types')], types: ['node'] },
      include: ['jobs/*.ts'],
    };
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const compiled = run(process.execPath, [tsc, '-p', 'tsconfig.json'], project);
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(compiled.status).toBe(0);

    // A raw payload is a Buffer, not unknown: using it as a number must not compile.
    writeFileSync(path.join(project, 'jobs', 'wrong.ts'), `import { defineJob } from 'atom-worker';\nexport default defineJob({ payload: 'raw', run(payload) { const n: number = payload; return n; } });\n`);
    const wrong = run(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit'], project);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toMatch(/wrong\.ts.*error TS2322: Type 'Buffer.*' is not assignable to type 'number'/);

    const bin = path.join(project, 'node_modules', '.bin', 'atom-worker');
    const check = run(bin, ['check', '--offline', '--servers', '127.0.0.1:4730', '--no-journal', '--json', '--jobs', '@builtin', '--jobs', 'built'], project);
    expect(check.status, check.stderr).toBe(0);
    expect((JSON.parse(check.stdout) as { functions: Array<{ job: string }> }).functions.map((entry) => entry.job).sort()).toEqual(['atomWorkerTest', 'countBytes', 'double', 'qtSwordPluginWorker']);
    const exec = run(bin, ['exec', 'double', '{"n":21}', '--jobs', 'built'], project);
    expect(exec.stdout.trim()).toBe('{"doubled":42}');
  });
});
