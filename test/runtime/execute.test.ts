import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { executeJob, type Outcome, serialiseResult } from '../../src/runtime/execute.js';
import { validateDefinition } from '../../src/runtime/loadJobs.js';

const silent = pino({ level: 'silent' });

function run(definition: unknown, payload: string | Buffer, options: { timeoutMs?: number; maxPayloadBytes?: number } = {}) {
  const job = validateDefinition('test.mjs', definition);
  const reports: string[] = [];
  const execution = executeJob({
    job,
    info: { handle: 'H:1', unique: 'u', function: job.name, name: job.name },
    payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
    log: silent,
    settings: { answer: 42 },
    timeoutMs: options.timeoutMs,
    maxPayloadBytes: options.maxPayloadBytes ?? 1024,
    reporter: {
      status: (n, d) => reports.push(`status ${n}/${d}`),
      data: (chunk) => reports.push(`data ${Buffer.from(chunk).toString()}`),
      warning: (message) => reports.push(`warning ${message}`),
    },
  });
  return { execution, reports };
}

const outcomeOf = async (definition: unknown, payload: string | Buffer, options = {}): Promise<Outcome> => run(definition, payload, options).execution.outcome;

describe('payloads', () => {
  const schema = z.object({ id: z.number(), name: z.string() });
  const job = { name: 'typed', payload: schema, run: (p: { id: number }) => ({ got: p.id }) };

  it('parses JSON and validates it against the schema', async () => {
    expect(await outcomeOf(job, '{"id":3,"name":"x","extra":true}')).toEqual({ kind: 'completed', result: '{"got":3}' });
  });

  it('rejects invalid JSON, schema mismatches and oversized payloads with a one-line reason', async () => {
    expect(await outcomeOf(job, '{"id":')).toMatchObject({ kind: 'rejected', reason: expect.stringMatching(/^payload is not valid JSON: /) });
    const mismatch = await outcomeOf(job, '{"id":"3"}');
    expect(mismatch.kind).toBe('rejected');
    expect(mismatch.kind === 'rejected' && mismatch.reason).toMatch(/payload does not match the typed schema: id: .*expected number.*; name: /);
    expect(await outcomeOf(job, `{"id":1,"name":"${'x'.repeat(2000)}"}`)).toMatchObject({ kind: 'rejected', reason: expect.stringMatching(/exceeds the 1024-byte limit/) });
    expect(await outcomeOf(job, '')).toMatchObject({ kind: 'rejected' });
  });

  it("hands 'raw' jobs the bytes", async () => {
    expect(await outcomeOf({ payload: 'raw', run: (b: Buffer) => b.reverse() }, Buffer.from([1, 0, 2]))).toEqual({ kind: 'completed', result: Buffer.from([2, 0, 1]) });
  });
});

describe('results', () => {
  it('sends strings and buffers as they are, undefined as empty, anything else as JSON', () => {
    expect(serialiseResult('text')).toBe('text');
    expect(serialiseResult(undefined)).toBe('');
    expect(serialiseResult({ a: [1] })).toBe('{"a":[1]}');
    expect(serialiseResult(7)).toBe('7');
    expect(serialiseResult(new Uint8Array([5]))).toEqual(Buffer.from([5]));
  });

  it('fails a job whose result cannot be serialised', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(await outcomeOf({ run: () => circular }, '{}')).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/could not be serialised/) });
    expect(await outcomeOf({ run: () => 10n }, '{}')).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/could not be serialised/) });
    expect(await outcomeOf({ run: () => () => 1 }, '{}')).toMatchObject({ kind: 'failed' });
  });
});

describe('failures', () => {
  it('turns throws, rejections and non-Error throws into one-line reasons', async () => {
    expect(await outcomeOf({ run: () => { throw new Error('line one\nline two'); } }, '{}')).toEqual({ kind: 'failed', reason: 'line one line two' });
    expect(await outcomeOf({ run: async () => Promise.reject(new TypeError('nope')) }, '{}')).toEqual({ kind: 'failed', reason: 'nope' });
    expect(await outcomeOf({ run: () => { throw { code: 7 }; } }, '{}')).toEqual({ kind: 'failed', reason: 'non-Error thrown: {"code":7}' });
    expect(await outcomeOf({ run: () => { throw 'plain'; } }, '{}')).toEqual({ kind: 'failed', reason: 'plain' });
  });

  it('times out at the limit, aborting ctx.signal', async () => {
    let aborted: unknown;
    const { execution } = run(
      { run: (_p: unknown, ctx: { signal: AbortSignal }) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => { aborted = ctx.signal.reason; reject(ctx.signal.reason); })) },
      '{}',
      { timeoutMs: 50 },
    );
    expect(await execution.outcome).toEqual({ kind: 'timed_out', reason: 'timed out after 50 ms' });
    await execution.settled;
    expect((aborted as DOMException).name).toBe('TimeoutError');
    expect(execution.handlerDone).toBe(true);
  });

  it('lets the worker interrupt a job, which then gets no reply', async () => {
    const { execution } = run({ run: (_p: unknown, ctx: { signal: AbortSignal }) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')))) }, '{}');
    execution.interrupt('the worker is shutting down');
    expect(await execution.outcome).toEqual({ kind: 'interrupted', reason: 'the worker is shutting down' });
  });
});

describe('the context', () => {
  it('reports progress, data and warnings, and carries job info and settings', async () => {
    const { execution, reports } = run(
      {
        name: 'ctxJob',
        run: (_p: unknown, ctx: { progress(n: number, d: number): void; data(c: string): void; warning(m: string): void; job: { handle: string; name: string }; settings: Record<string, unknown> }) => {
          ctx.progress(1, 2);
          ctx.data('chunk');
          ctx.warning('careful');
          return `${ctx.job.handle} ${ctx.job.name} ${String(ctx.settings.answer)}`;
        },
      },
      '{}',
    );
    expect(await execution.outcome).toEqual({ kind: 'completed', result: 'H:1 ctxJob 42' });
    expect(reports).toEqual(['status 1/2', 'data chunk', 'warning careful']);
  });

  it('drops reports made after the outcome (a timed-out handler still running)', async () => {
    let late: (() => void) | undefined;
    const { execution, reports } = run({ run: (_p: unknown, ctx: { progress(n: number, d: number): void }) => new Promise<void>((resolve) => { late = () => { ctx.progress(9, 9); resolve(); }; }) }, '{}', { timeoutMs: 20 });
    expect((await execution.outcome).kind).toBe('timed_out');
    late!();
    await execution.settled;
    expect(reports).toEqual([]);
  });
});
