// Cluster-run job: works for `ms` milliseconds (default 30), then appends "<id> <host> <epoch ms>"
// to this host's completion file, so the run can count every completion, duplicates included.
import { appendFileSync } from 'node:fs';

const file = process.env.CLUSTER_RECORD_FILE;
const host = process.env.CLUSTER_HOST ?? 'unknown';

export default {
  name: 'clusterRecord',
  async run(payload, ctx) {
    const { id, ms = 30 } = payload;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      });
    });
    // Synchronous on purpose: the line is on disk before the result goes back to gearmand.
    if (file) appendFileSync(file, `${id} ${host} ${Date.now()}\n`);
    return 'ok';
  },
};
