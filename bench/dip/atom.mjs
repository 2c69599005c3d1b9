#!/usr/bin/env node
// DIP ingest into AtoM's database, end to end: a private MariaDB with AtoM's schema (the test
// harness, compiled), gearmand, `atom-worker run` with AtoM's database and root configured, a
// generated DIP deposited as AtoM's deposit action does (a job row, then the job); reports the
// seconds, the time per file, the worker's peak RSS and the rows written, and, in the same run,
// the time per file of AtoM's own parse pattern (bench/dip/atom-pattern.php, when php is installed).
// Usage: npm run build && node bench/dip/atom.mjs [files=10000] [--hierarchical]
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const [countArg = '10000', ...flags] = process.argv.slice(2);
const files = Number(countArg);

// The harness is TypeScript: compile it next to dist/ (a few seconds), as the tests' own helpers.
const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'bench', 'tsconfig.harness.json')], { encoding: 'utf8' });
if (tsc.status !== 0) throw new Error(`compiling the test harness failed:\n${tsc.stdout}${tsc.stderr}`);
const harness = (name) => import(path.join(ROOT, 'dist', 'bench-harness', 'test', 'harness', `${name}.js`));
const { startMariadb, insertAtomJob, atomFixtures } = await harness('mariadb');
const { seedAtomSite, addDescription, nestedSetFaults } = await harness('atomSite');
const { startGearmand, startCliWorker } = await harness('gearmand');
const { tempDir } = await harness('worker');
const { GearmanClient } = await import(path.join(ROOT, 'dist', 'src', 'gearman', 'client.js'));
const { atomJobPrefix } = await import(path.join(ROOT, 'dist', 'src', 'config', 'prefix.js'));
if ('missing' in atomFixtures()) throw new Error(atomFixtures().missing);

export async function runAtomDipBench(count, options = {}) {
  const work = tempDir({}, 'bench-dip-atom-');
  const deposit = path.join(work, 'deposit');
  await mkdir(deposit, { recursive: true });
  const generated = spawnSync(process.execPath, [path.join(ROOT, 'bench', 'dip', 'generate.mjs'), deposit, String(count), ...(options.hierarchical ? ['--hierarchical'] : [])], { encoding: 'utf8' });
  if (generated.status !== 0) throw new Error(`DIP generator failed: ${generated.stderr}`);
  const dipName = generated.stdout.trim();
  const metsFile = path.join(deposit, dipName, readdirSync(path.join(deposit, dipName)).find((name) => /^METS\..*\.xml$/.test(name)));

  const [db, gearmand] = await Promise.all([startMariadb(), startGearmand()]);
  let worker;
  let index;
  const client = new GearmanClient([{ host: '127.0.0.1', port: gearmand.port }]);
  try {
    await seedAtomSite(db);
    const target = await addDescription(db, 1, 'Bench fonds', 'bench-fonds');
    await addDescription(db, 1, 'Sibling', 'sibling');
    const atomRoot = path.join(work, 'atom');
    const prefix = atomJobPrefix(atomRoot);
    const config = path.join(work, 'gearman.yml');
    writeFileSync(
      config,
      `all:\n  servers: { default: "127.0.0.1:${gearmand.port}" }\n  atom_worker:\n    atom_root_dir: ${atomRoot}\n    sword_deposit_dir: ${deposit}\n    temp_dir: ${path.join(work, 'tmp')}\n    dip_keep_deposit: true\n` +
        `    atom_database: { host: 127.0.0.1, port: ${db.port}, name: atom, user: ${db.user}, password: "${db.password}" }\n`,
    );
    index = await startCliWorker(gearmand.port, `${prefix}arUpdateEsIoDocumentsJob`, ['true']);
    const logFile = path.join(work, 'worker.log');
    worker = spawn(process.execPath, [path.join(ROOT, 'bin', 'atom-worker'), 'run', '--config', config, '--log-format', 'json', '--journal', path.join(work, 'journal.sqlite'), '--run-dir', path.join(work, 'run'), '--abilities', 'qtSwordPluginWorker'], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let log = '';
    await new Promise((resolve, reject) => {
      worker.stdout.setEncoding('utf8').on('data', (chunk) => {
        log += chunk;
        if (log.includes('registered on every connection')) resolve();
      });
      worker.once('exit', (code) => reject(new Error(`worker exited (${code}):\n${log}`)));
    });
    const id = await insertAtomJob(db, { name: 'qtSwordPluginWorker', objectId: target });
    const payload = JSON.stringify({ format: 'http://purl.org/net/sword-types/METSArchivematicaDIP', location: `file:///${dipName}`, objectId: target, name: 'qtSwordPluginWorker', id });
    const started = performance.now();
    const outcome = await client.submit(`${prefix}qtSwordPluginWorker`, payload);
    const seconds = (performance.now() - started) / 1000;
    writeFileSync(logFile, log);
    if (outcome.status !== 'complete') throw new Error(`the DIP job ended with ${outcome.status}; see ${logFile}`);
    const status = readFileSync(`/proc/${worker.pid}/status`, 'utf8');
    const peakMiB = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
    const [{ n: descriptions }] = await db.query('SELECT COUNT(*) AS n FROM information_object WHERE lft > (SELECT lft FROM information_object WHERE id = ?) AND rgt < (SELECT rgt FROM information_object WHERE id = ?)', [target, target]);
    const [{ n: objects }] = await db.query('SELECT COUNT(*) AS n FROM object');
    const faults = await nestedSetFaults(db);
    return { files: count, dipName, metsFile, seconds, msPerFile: (seconds * 1000) / count, peakMiB, descriptions: Number(descriptions), objects: Number(objects), nestedSetValid: faults.length === 0, work };
  } finally {
    worker?.kill('SIGTERM');
    index?.kill('SIGKILL');
    client.close();
    await Promise.all([db.stop(), gearmand.stop()]);
  }
}

/** AtoM's own pattern on the same METS: one DOM of the whole file, XPath queries per original (PHP). */
export function runAtomPattern(metsFile) {
  const php = spawnSync('php', ['-d', 'memory_limit=-1', path.join(ROOT, 'bench', 'dip', 'atom-pattern.php'), metsFile], { encoding: 'utf8' });
  if (php.error) return { unavailable: 'php is not installed (apt-get install -y php-cli php-xml)' };
  if (php.status !== 0) return { unavailable: `php failed: ${php.stderr.slice(-500)}` };
  return JSON.parse(php.stdout);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runAtomDipBench(files, { hierarchical: flags.includes('--hierarchical') });
  const pattern = runAtomPattern(result.metsFile);
  console.log(JSON.stringify({ ...result, atomPattern: pattern, ratioPerFile: pattern.msPerFile ? result.msPerFile / pattern.msPerFile : null }, null, 2));
  await rm(result.work, { recursive: true, force: true });
}
