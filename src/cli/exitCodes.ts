// How the CLI reports the errors that end a verb: a one-line message on stderr and a sysexits code.
import { ConfigError, EX_CONFIG } from '../config/errors.js';
import { JobLoadError } from '../runtime/loadJobs.js';

export const EX_SOFTWARE = 70;
/** sysexits EX_IOERR: the journal could not be written. */
export const EX_IOERR = 74;
export const EX_UNAVAILABLE = 69;
/** sysexits EX_TEMPFAIL: gave up waiting; trying again later may work. */
export const EX_TEMPFAIL = 75;

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
