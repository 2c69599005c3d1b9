// The process-level safety nets, installed only when asked (the `run` verb asks; an embedding
// program decides for itself): an error a handler leaves behind (an unhandled rejection, an uncaught
// exception in its async context) fails that job; anything else is logged, never silent, and an
// uncaught exception outside any job ends the process with EX_SOFTWARE.
import type { Logger } from 'pino';
import { EX_SOFTWARE } from '../exitCodes.js';
import { currentJobScope, describeThrown } from '../runtime/execute.js';

/** Install the nets; returns a function that removes them. `beforeExit` runs before a fatal exit. */
export function installProcessNets(log: Logger, beforeExit: () => void): () => void {
  const onRejection = (reason: unknown): void => {
    const scope = currentJobScope();
    if (scope?.fail(`unhandled promise rejection: ${describeThrown(reason)}`)) {
      log.error({ handle: scope?.info.handle, err: String(reason) }, 'unhandled rejection failed its job');
    } else log.error({ err: reason instanceof Error ? reason.stack : String(reason), handle: scope?.info.handle }, 'unhandled promise rejection (worker keeps serving)');
  };
  const onException = (error: Error): void => {
    const scope = currentJobScope();
    if (scope) {
      scope.fail(`uncaught exception: ${describeThrown(error)}`);
      log.error({ handle: scope.info.handle, err: error.stack }, 'uncaught exception in a job handler: job failed, worker keeps serving');
      return;
    }
    log.fatal({ err: error.stack }, 'uncaught exception outside any job: stopping');
    beforeExit();
    process.exit(EX_SOFTWARE);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
