// How the CLI reports the errors that end a verb: a one-line message on stderr and an exit code
// from the one table, src/exitCodes.ts.
import { ConfigError } from '../config/errors.js';
import { EX_CONFIG } from '../exitCodes.js';
import { JobLoadError } from '../runtime/loadJobs.js';

/** Print a known error the way users should see it; returns the exit code, or undefined if unknown. */
export function reportKnownError(error: unknown): number | undefined {
  if (error instanceof ConfigError || error instanceof JobLoadError) {
    process.stderr.write(`atom-worker: configuration error: ${error.message}\n`);
    return EX_CONFIG;
  }
  return undefined;
}

/** For a verb's catch block: report a known error and return its exit code; rethrow anything else. */
export function exitCodeOf(error: unknown): number {
  const code = reportKnownError(error);
  if (code === undefined) throw error;
  return code;
}
