// Cluster-run client (runs inside the client host's namespace): queues `count` background jobs
// with distinct unique keys at `rate` per second, each on a server picked per job (hash of the
// unique key, the next server when that one is down, as AtoM's client fails over), and prints
// one JSON line per second with what it queued where.
import { GearmanClient } from '../../dist/src/gearman/client.js';

const [servers, countArg = '10000', rateArg = '300'] = process.argv.slice(2);
const count = Number(countArg);
const rate = Number(rateArg);
const addresses = servers.split(',').map((s) => ({ host: s.split(':')[0], port: Number(s.split(':')[1]) }));
const client = new GearmanClient(addresses, { connectTimeoutMs: 1000 });
const perServer = {};
let failed = 0;
const started = Date.now();
for (let i = 0; i < count; i += 1) {
  const due = started + (i * 1000) / rate;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  for (;;) {
    try {
      const { server } = await client.submitBackground('clusterRecord', JSON.stringify({ id: i }), { unique: `cluster-${i}` });
      perServer[server] = (perServer[server] ?? 0) + 1;
      break;
    } catch {
      // Both servers unreachable for a moment: try again, never drop a job.
      failed += 1;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
client.close();
console.log(JSON.stringify({ queued: count, perServer, retries: failed, seconds: (Date.now() - started) / 1000 }));
