// Job modules' `start` hooks, run once by `run` before the worker takes jobs. A failing hook is the
// job's problem, not the worker's: it is logged and the worker starts.
import type { Logger } from 'pino';
import type { Registration } from './options.js';

export async function runStartHooks(registrations: readonly Registration[], settings: Readonly<Record<string, unknown>>, log: Logger): Promise<void> {
  const seen = new Set<string>();
  for (const { job } of registrations) {
    if (seen.has(job.file) || job.definition.start === undefined) continue;
    seen.add(job.file);
    try {
      await job.definition.start({ log: log.child({ job: job.name }), settings });
    } catch (error) {
      log.error({ job: job.name, err: error instanceof Error ? error.message : String(error) }, 'job start hook failed; the worker starts anyway');
    }
  }
}
