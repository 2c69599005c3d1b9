// The README's embedding example, taken from the README as it is and run as a program of its own:
// it imports `atom-worker` as an installed package would, serves jobs from a real gearmand through
// startWorker, and is quieted, resumed and stopped over its HTTP server. No CLI is involved.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverStatus } from '../../src/gearman/admin.js';
import { GearmanClient } from '../../src/gearman/client.js';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';
import { type LogLine, repoRoot, spawnNode, tempDir } from '../harness/worker.js';

const EXAMPLE_MARK = '// worker-beside-http.mjs';

/** The first ```js block of the README that starts with the example's file name. */
function readmeExample(): string {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const block = readme.split('```js\n').find((part) => part.startsWith(EXAMPLE_MARK));
  if (!block) throw new Error(`README.md has no \`\`\`js block starting with ${EXAMPLE_MARK}`);
  return block.slice(0, block.indexOf('```'));
}

let gearmand: Gearmand;

beforeAll(async () => {
  gearmand = await startGearmand();
});

afterAll(async () => {
  await gearmand?.stop();
});

const text = (pattern: RegExp) => (line: LogLine): boolean => typeof line.text === 'string' && pattern.test(line.text);

async function post(base: string, action: string): Promise<{ state: string }> {
  const response = await fetch(new URL(action, base), { method: 'POST' });
  return (await response.json()) as { state: string };
}

describe("the README's startWorker example", () => {
  it('serves jobs, quiets, resumes and stops, as a program that imports atom-worker', async () => {
    // A project folder where `atom-worker` resolves to this package (dist/ is built by npm test).
    const project = tempDir();
    mkdirSync(path.join(project, 'node_modules'));
    symlinkSync(repoRoot, path.join(project, 'node_modules', 'atom-worker'), 'dir');
    const program = path.join(project, 'worker-beside-http.mjs');
    writeFileSync(program, readmeExample());

    const example = spawnNode(program, [], { cwd: project, env: { GEARMAN_SERVERS: gearmand.address, PORT: '0', JOURNAL: path.join(project, 'journal.sqlite') } });
    const listening = await example.waitForLog(text(/^listening on /));
    const base = String(listening.text).replace(/^listening on /, '');
    await example.waitForLog((line) => line.msg === 'registered on every connection');

    const client = new GearmanClient([{ host: gearmand.host, port: gearmand.port }]);
    const progress: number[] = [];
    const first = await client.submit('reverse', JSON.stringify({ text: 'fonds' }), { onStatus: (numerator) => progress.push(numerator) });
    expect(first.status === 'complete' && first.result.toString()).toBe('sdnof');
    expect(progress).toEqual([1]);
    await example.waitForLog(text(new RegExp(`^reverse ${first.handle.replace(/[.:]/g, '\\$&')}: completed$`)));

    expect((await post(base, '/quiet')).state).toBe('quiet');
    const later = await client.submitBackground('reverse', JSON.stringify({ text: 'later' }));
    const status = await serverStatus({ host: gearmand.host, port: gearmand.port });
    expect(status.find((row) => row.function === 'reverse')).toMatchObject({ queued: 1, running: 0 });
    expect((await post(base, '/resume')).state).toBe('running');
    await example.waitForLog(text(new RegExp(`^reverse ${later.handle.replace(/[.:]/g, '\\$&')}: completed$`)));

    // Nothing runs, so the drain ends at once.
    expect(['draining', 'stopped']).toContain((await post(base, '/stop')).state);
    expect(await example.exited).toEqual({ code: 0, signal: null });
    expect(example.lines.some((line) => line.msg === 'atom-worker stopped')).toBe(true);
    client.close();
  });
});
