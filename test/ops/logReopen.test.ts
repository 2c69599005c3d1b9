// SIGHUP reopens --log-file: after logrotate moves the file away, new lines go to a new file.
import { existsSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';
import { tempDir } from '../harness/worker.js';
import { startWorker, stopWorker } from './helpers.js';

/** Wait until the file exists and holds a line matching `pattern` (the worker writes it synchronously). */
async function waitForFileLine(file: string, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(file)) {
      const line = readFileSync(file, 'utf8').split('\n').find((candidate) => pattern.test(candidate));
      if (line) return line;
    }
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern} in ${file}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('SIGHUP and --log-file', () => {
  let gearmand: Gearmand;
  beforeAll(async () => {
    gearmand = await startGearmand();
  });
  afterAll(async () => {
    await gearmand?.stop();
  });

  it('reopens the log file: the rotated file keeps the old lines, the new file gets the next ones', async () => {
    const dir = tempDir();
    const logFile = path.join(dir, 'logs', 'worker.log');
    const ops = await startWorker(gearmand, { dir, args: ['--log-file', logFile], waitConnected: false });
    await waitForFileLine(logFile, /connected to job server/);
    renameSync(logFile, `${logFile}.1`);
    ops.worker.kill('SIGHUP');
    const reopened = await waitForFileLine(logFile, /SIGHUP received: log file reopened/);
    expect(JSON.parse(reopened)).toMatchObject({ signal: 'SIGHUP' });
    await stopWorker(ops.worker);
    const rotated = readFileSync(`${logFile}.1`, 'utf8');
    const fresh = readFileSync(logFile, 'utf8');
    expect(rotated).toContain('connected to job server');
    expect(rotated).not.toContain('SIGHUP received');
    expect(fresh).not.toContain('connected to job server');
    expect(fresh).toContain('atom-worker stopped');
  });
});
