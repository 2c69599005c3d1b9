// `atom-worker jobs clear` on a terminal asks first; `jobs show` and `list` read a journal written by
// the journal writer (the end-to-end runs are in submit.test.ts and journal/crash.test.ts).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalWriter } from '../../src/journal/writer.js';
import { tempDir } from '../harness/worker.js';
import { cli, cliOnTerminal, haveScript } from '../ops/helpers.js';

function journalWith(count: number): { dir: string; file: string } {
  const dir = tempDir();
  const file = path.join(dir, 'j.sqlite');
  const writer = new JournalWriter({ file });
  for (let index = 0; index < count; index++) {
    const ref = writer.start(`H:t:${index}`, `u${index}`, 'f', 'w', 's', Date.now() - 1000, 1);
    writer.end(ref, index % 2 === 0 ? 'completed' : 'timed_out', Date.now(), 1000, index % 2 === 0 ? undefined : 'timed out after 1000 ms', undefined);
  }
  writer.close();
  return { dir, file };
}

describe('atom-worker jobs', () => {
  it.skipIf(!haveScript())('clear asks on a terminal: "n" keeps the rows, "y" deletes them', async () => {
    const { dir, file } = journalWith(3);
    const command = `jobs clear --journal ${file}`;
    const no = await cliOnTerminal(command, { cwd: dir, input: 'n\n' });
    expect(no.stdout).toContain('Delete 3 ended jobs from the journal? [y/N]');
    expect(no.stdout).toContain('nothing deleted');
    expect(no.status).toBe(1);
    expect(JSON.parse((await cli(['jobs', 'list', '--json', '--journal', file])).stdout)).toHaveLength(3);
    const yes = await cliOnTerminal(command, { cwd: dir, input: 'y\n' });
    expect(yes.stdout).toContain('deleted 3 jobs');
    expect(yes.status).toBe(0);
    expect(JSON.parse((await cli(['jobs', 'list', '--json', '--journal', file])).stdout)).toHaveLength(0);
  });

  it('show prints one run by id; list filters by status; a bad --since is a usage error', async () => {
    const { file } = journalWith(2);
    const shown = await cli(['jobs', 'show', '2', '--journal', file, '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: 2, handle: 'H:t:1', status: 'timed_out', error: 'timed out after 1000 ms', duration_ms: 1000 });
    const human = await cli(['jobs', 'show', 'H:t:0', '--journal', file]);
    expect(human.stdout).toMatch(/status\s+completed/);
    const missing = await cli(['jobs', 'show', 'nope', '--journal', file]);
    expect(missing.status).toBe(1);
    const timedOut = await cli(['jobs', 'list', '--status', 'timed_out', '--json', '--journal', file]);
    expect((JSON.parse(timedOut.stdout) as Array<{ handle: string }>).map((row) => row.handle)).toEqual(['H:t:1']);
    const bad = await cli(['jobs', 'list', '--since', 'yesterday-ish', '--journal', file]);
    expect(bad.status).toBe(64);
    expect(bad.stderr).toContain('--since');
    const absent = await cli(['jobs', 'list', '--journal', path.join(tempDir(), 'none.sqlite')]);
    expect(absent.status).toBe(66);
  });
});
