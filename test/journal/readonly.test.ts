// A journal the worker cannot write: it must refuse to start (exit 78, naming the file), not serve
// jobs whose outcomes it silently drops. Root ignores file modes, so as root the worker runs as
// `nobody` (setpriv), as a service user would.
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openJournalDatabase } from '../../src/journal/database.js';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';
import { cliPath, type CommandResult, runCommand, tempDir } from '../harness/worker.js';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

/** Run the CLI as a user the file modes apply to. */
function cliAsUser(args: readonly string[]): Promise<CommandResult> {
  const command = [process.execPath, cliPath, ...args];
  const [program, ...rest] = asRoot ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...command] : command;
  return runCommand(program!, rest, { timeoutMs: 20_000, env: { XDG_RUNTIME_DIR: '' } });
}

/** A folder (and its contents) owned by the user the CLI runs as. */
function ownedFolder(): string {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  if (asRoot) chownSync(dir, NOBODY, NOBODY);
  return dir;
}

describe('a journal that cannot be written', () => {
  let gearmand: Gearmand;
  // As root, `nobody` must be able to read the checkout; a clone under a private home cannot be.
  let cannotRun: string | undefined;
  beforeAll(async () => {
    gearmand = await startGearmand();
    const probe = await cliAsUser(['--version']);
    if (probe.status !== 0) cannotRun = `user ${NOBODY} cannot run ${cliPath} (${probe.stderr.trim().split('\n')[0]}): these cases need a checkout others can read`;
  });
  const needsUser = (context: { skip(note?: string): void }): void => {
    if (cannotRun) {
      console.warn(cannotRun);
      context.skip(cannotRun);
    }
  };
  afterAll(() => gearmand.stop());

  it('runs the CLI as a user file modes apply to (else the cases below would prove nothing)', async (context) => {
    needsUser(context);
    const dir = ownedFolder();
    const file = path.join(dir, 'probe');
    writeFileSync(file, '');
    chmodSync(file, 0o400);
    if (asRoot) chownSync(file, NOBODY, NOBODY);
    const result = await runCommand(asRoot ? 'setpriv' : 'sh', asRoot ? [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sh', '-c', `echo x >> ${file}`] : ['-c', `echo x >> ${file}`]);
    expect(result.status).not.toBe(0);
  });

  it('exits 78 naming the file when the journal file is read-only', async (context) => {
    needsUser(context);
    const dir = ownedFolder();
    const journal = path.join(dir, 'journal.sqlite');
    openJournalDatabase(journal).close();
    chmodSync(journal, 0o400);
    if (asRoot) chownSync(journal, NOBODY, NOBODY);
    const result = await cliAsUser(['run', '--servers', gearmand.address, '--journal', journal, '--run-dir', path.join(dir, 'run')]);
    expect(result.status, result.stderr).toBe(78);
    expect(result.stderr).toContain(`cannot open the job journal ${journal}`);
    expect(result.stderr).toMatch(/permission denied|readonly/i);
    expect(result.stdout).not.toContain('registered on every connection');
  });

  it('exits 78 when the journal folder is read-only (SQLite cannot create its -wal file)', async (context) => {
    needsUser(context);
    const dir = ownedFolder();
    const folder = path.join(dir, 'journal');
    mkdirSync(folder);
    const journal = path.join(folder, 'journal.sqlite');
    const db = openJournalDatabase(journal);
    db.pragma('journal_mode = DELETE'); // no -wal file left behind: the worker would have to create one
    db.close();
    if (asRoot) {
      chownSync(folder, NOBODY, NOBODY);
      chownSync(journal, NOBODY, NOBODY);
    }
    chmodSync(folder, 0o500);
    const result = await cliAsUser(['run', '--servers', gearmand.address, '--journal', journal, '--run-dir', path.join(dir, 'run')]);
    expect(result.status, result.stderr).toBe(78);
    expect(result.stderr).toContain(`cannot open the job journal ${journal}`);
  });
});
