// startWorker in this process against a real gearmand: no CLI, no child process. The lifecycle
// (registered, quiet, resume, stop, stop now), the typed events, in-process job definitions, the
// config validated with the file's schema, and no process-wide handler installed.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { serverStatus } from '../../src/gearman/admin.js';
import type { JobEvent } from '../../src/runtime/events.js';
import type { JobEnded } from '../../src/service/events.js';
import { startWorker } from '../../src/service/startWorker.js';
import { defineJob } from '../../src/types.js';
import { useGearmand } from '../harness/gearmandFixture.js';
import { tempDir } from '../harness/worker.js';

const silent = pino({ level: 'silent' });

/** Resolves when the test lets it (a job that runs until told). */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const fixture = useGearmand();

function queued(fn: string): Promise<number> {
  const { gearmand } = fixture;
  return serverStatus({ host: gearmand.host, port: gearmand.port }).then((rows) => rows.find((row) => row.function === fn)?.queued ?? 0);
}

describe('startWorker (in process, real gearmand)', () => {
  it('serves in-process jobs with progress, quiets, resumes and drains to exit 0, with typed events', async () => {
    const { gearmand, client } = fixture;
    const release = gate();
    const reverse = defineJob<{ text: string }, string>({
      name: 'inproc.reverse',
      async run(payload, ctx) {
        ctx.progress(1, 2);
        if (payload.text === 'hold') await release.opened;
        return [...payload.text].reverse().join('');
      },
    });
    const rejectionListeners = process.listenerCount('unhandledRejection');
    const worker = await startWorker({
      config: { gearman_job_server: gearmand.address, atom_worker: { concurrency: 2, journal_path: `${tempDir()}/journal.sqlite` } },
      jobs: [reverse],
      logger: silent,
    });
    expect(process.listenerCount('unhandledRejection')).toBe(rejectionListeners);
    expect(worker.functions).toEqual(['inproc.reverse']);
    await worker.registered();
    expect(worker.state).toBe('running');
    expect(worker.connectedServers).toEqual([`${gearmand.host}:${gearmand.port}`]);

    const progress: Array<[number, number]> = [];
    const ended: Array<[JobEvent, JobEnded]> = [];
    worker.on('jobProgress', (_job, numerator, denominator) => progress.push([numerator, denominator]));
    worker.on('jobEnded', (job, end) => ended.push([job, end]));
    const outcome = await client.submit('inproc.reverse', JSON.stringify({ text: 'archive' }));
    expect(outcome.status === 'complete' && outcome.result.toString()).toBe('evihcra');
    expect(progress).toEqual([[1, 2]]);
    expect(ended[0]?.[1].status).toBe('completed');
    expect(ended[0]?.[0].info.function).toBe('inproc.reverse');

    const states: string[] = [];
    worker.on('stateChanged', (state) => states.push(state));
    worker.quiet();
    expect(worker.state).toBe('quiet');
    await client.submitBackground('inproc.reverse', JSON.stringify({ text: 'later' }));
    expect(await queued('inproc.reverse')).toBe(1);
    const laterEnded = worker.once('jobEnded');
    worker.resume();
    const [laterJob, laterEnd] = await laterEnded;
    expect(laterJob.payload.toString()).toContain('later');
    expect(laterEnd.status).toBe('completed');

    // A drain waits for the running job, then stops.
    const held = client.submit('inproc.reverse', JSON.stringify({ text: 'hold' }));
    await worker.once('jobStarted');
    const stopped = worker.stop();
    expect(worker.state).toBe('draining');
    release.open();
    expect((await held).status).toBe('complete');
    expect(await stopped).toBe(0);
    expect(worker.state).toBe('stopped');
    expect(states).toEqual(['quiet', 'running', 'draining', 'stopped']);
  });

  it('stop({ now: true }) aborts the running job (gearmand requeues it) and ends with exit code 1', async () => {
    const { gearmand, client } = fixture;
    const worker = await startWorker({
      config: { servers: { main: gearmand.address } },
      overrides: { journal: false },
      jobs: [defineJob({ name: 'inproc.forever', run: (_payload, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))) })],
      logger: silent,
    });
    await worker.registered();
    void client.submitBackground('inproc.forever', '{}');
    await worker.once('jobStarted');
    const ended = worker.once('jobEnded');
    const [aborted] = await Promise.all([ended, expect(worker.stop({ now: true })).resolves.toBe(1)]);
    expect(aborted[1].status).toBe('interrupted');
    // gearmand gave the job back: the next worker gets the same handle.
    const next = await startWorker({
      config: { servers: { main: gearmand.address } },
      overrides: { journal: false },
      jobs: [defineJob({ name: 'inproc.forever', run: () => 'done this time' })],
      logger: silent,
    });
    const [again, againEnd] = await next.once('jobEnded');
    expect(again.info.handle).toBe(aborted[0].info.handle);
    expect(againEnd.status).toBe('completed');
    expect(await next.stop()).toBe(0);
  });

  it('validates the config with the file schema: one ConfigError naming the key', async () => {
    const { gearmand, client } = fixture;
    const attempt = startWorker({ config: { gearman_job_server: gearmand.address, atom_worker: { concurrency: 0 } }, logger: silent });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(/\(startWorker config\): atom_worker\.concurrency: /);
    await expect(startWorker({ config: {}, logger: silent, environment: {} })).rejects.toThrow(/no job server configured/);
  });

  it('installs the process nets only when asked, and removes them when it stops', async () => {
    const { gearmand, client } = fixture;
    const before = process.listenerCount('uncaughtException');
    const worker = await startWorker({
      config: { gearman_job_server: gearmand.address },
      overrides: { journal: false },
      jobs: [defineJob({ name: 'inproc.noop', run: () => 'ok' })],
      logger: silent,
      processNets: true,
    });
    expect(process.listenerCount('uncaughtException')).toBe(before + 1);
    expect(await worker.stop()).toBe(0);
    expect(process.listenerCount('uncaughtException')).toBe(before);
  });
});
