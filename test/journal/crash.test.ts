// The journal across a crash: a worker SIGKILLed mid-job, the job re-delivered by gearmand to a new
// worker, journalled as attempt 2; and with max_attempts the next re-delivery gives up.
import { beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import type { GearmanClient } from '../../src/gearman/client.js';
import type { Gearmand } from '../harness/gearmand.js';
import { useGearmand } from '../harness/gearmandFixture.js';
import { type LogLine, tempDir } from '../harness/worker.js';
import { cli, startWorker, stopWorker } from '../ops/helpers.js';

const started = (unique: string) => (line: LogLine): boolean => line.msg === 'job started' && line.unique === unique;

/** Wait until the journal holds a running row for the unique key (the writer flushes every 50 ms). */
async function journalledRunning(file: string, unique: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      const row = db.prepare("SELECT id FROM jobs WHERE unique_key = ? AND status = 'running'").get(unique);
      db.close();
      if (row) return;
    } catch {
      // not created yet
    }
    if (Date.now() > deadline) throw new Error(`no running journal row for ${unique}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('journal across a SIGKILL', () => {
  const fixture = useGearmand();
  let gearmand: Gearmand;
  let client: GearmanClient;
  beforeAll(() => ({ gearmand, client } = fixture));

  it('a worker killed mid-job and restarted shows that job as attempt 2, and the first run as abandoned', async () => {
    const dir = tempDir();
    const first = await startWorker(gearmand, { dir });
    const submitted = await client.submitBackground('atomWorkerTest', JSON.stringify({ sleepMs: 1500, echo: 'ok' }), { unique: 'crash-me' });
    await first.worker.waitForLog(started('crash-me'));
    await journalledRunning(first.journal, 'crash-me');
    first.worker.kill('SIGKILL');
    await first.worker.exited;

    const second = await startWorker(gearmand, { dir });
    const redelivered = await second.worker.waitForLog(started('crash-me'));
    expect(redelivered.handle).toBe(submitted.handle);
    const warned = await second.worker.waitForLog((line) => typeof line.msg === 'string' && line.msg.startsWith('job re-delivered after its worker'));
    expect(warned.attempt).toBe(2);
    await second.worker.waitForLog((line) => line.msg === 'job completed' && line.unique === 'crash-me');
    await stopWorker(second.worker);

    const listed = await cli(['jobs', 'list', '--json', '--journal', first.journal], { cwd: dir });
    expect(listed.status).toBe(0);
    const rows = (JSON.parse(listed.stdout) as Array<Record<string, unknown>>).filter((row) => row.unique_key === 'crash-me');
    expect(rows.map((row) => [row.attempt, row.status, row.pid])).toEqual([
      [1, 'abandoned', first.worker.pid],
      [2, 'completed', second.worker.pid],
    ]);
    expect(rows[0]!.error).toContain(`pid ${first.worker.pid}`);
    expect(rows[1]!.handle).toBe(submitted.handle);

    const shown = await cli(['jobs', 'show', 'crash-me', '--journal', first.journal], { cwd: dir });
    expect(shown.stdout).toMatch(/attempt\s+2/);
  });

  it('with --max-attempts 1, the re-delivered job fails with "gave up after 1 attempts" instead of running', async () => {
    const dir = tempDir();
    const first = await startWorker(gearmand, { dir });
    const outcome = client.submit('atomWorkerTest', JSON.stringify({ sleepMs: 20_000 }), { unique: 'give-up' });
    await first.worker.waitForLog(started('give-up'));
    await journalledRunning(first.journal, 'give-up');
    first.worker.kill('SIGKILL');
    await first.worker.exited;

    const second = await startWorker(gearmand, { dir, args: ['--max-attempts', '1'] });
    const result = await outcome.catch((error: Error) => error);
    // The foreground client saw the failure (its connection to gearmand stayed up throughout).
    expect(result).toMatchObject({ status: 'fail' });
    await second.worker.waitForLog((line) => line.reason === 'gave up after 1 attempts');
    await stopWorker(second.worker);
    const listed = await cli(['jobs', 'list', '--json', '--journal', first.journal, '--function', 'atomWorkerTest'], { cwd: dir });
    const rows = (JSON.parse(listed.stdout) as Array<Record<string, unknown>>).filter((row) => row.unique_key === 'give-up');
    expect(rows.map((row) => [row.attempt, row.status, row.error])).toEqual([
      [1, 'abandoned', `the worker (pid ${first.worker.pid}) died while running it; re-delivered`],
      [2, 'failed', 'gave up after 1 attempts'],
    ]);
  });
});
