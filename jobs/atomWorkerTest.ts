// A diagnostic job, as AtoM ships arTestJob: echoes, can sleep, report progress, send data and
// warnings, or fail on request. For smoke tests, demos and benchmarks.
import { z } from 'zod';
import { defineJob } from '../src/types.js';

const payload = z
  .object({
    /** Returned as the result (any JSON). Without it, the whole payload is echoed. */
    echo: z.unknown().optional(),
    /** Sleep this long (honouring the abort signal). */
    sleepMs: z.number().int().nonnegative().max(86_400_000).optional(),
    /** Report progress in this many steps spread over sleepMs. */
    steps: z.number().int().positive().max(10_000).optional(),
    /** Send these as WORK_DATA chunks. */
    data: z.array(z.string()).optional(),
    /** Send this as WORK_WARNING. */
    warning: z.string().optional(),
    /** Throw an Error with this message. */
    fail: z.string().optional(),
  })
  .loose();

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export default defineJob({
  name: 'atomWorkerTest',
  payload,
  async run(input, ctx) {
    const steps = input.steps ?? (input.sleepMs ? 1 : 0);
    const sleepMs = input.sleepMs ?? 0;
    for (let step = 1; step <= steps; step++) {
      if (sleepMs > 0) await sleep(sleepMs / steps, ctx.signal);
      ctx.progress(step, steps);
    }
    if (steps === 0 && sleepMs > 0) await sleep(sleepMs, ctx.signal);
    for (const chunk of input.data ?? []) ctx.data(chunk);
    if (input.warning !== undefined) ctx.warning(input.warning);
    if (input.fail !== undefined) throw new Error(input.fail);
    return input.echo !== undefined ? input.echo : input;
  },
});
