// /metrics, /healthz and /readyz of a real worker: the text parses as Prometheus exposition format and
// its counters match the jobs that ran; health follows the job server's presence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanClient } from '../../src/gearman/client.js';
import { type Gearmand, startGearmand } from '../harness/gearmand.js';
import { type OpsWorker, startWorker, stopWorker } from './helpers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the Prometheus text format (version 0.0.4): throws on any line it cannot read. */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleLine = new RegExp(`^(${name})(?:\\{(.*)\\})? (-?(?:\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?|NaN|\\+Inf|-Inf))(?: -?\\d+)?$`);
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const match = sampleLine.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = match[2] ?? '';
    label.lastIndex = 0;
    while (label.lastIndex < body.length) {
      const pair = label.exec(body);
      if (!pair) throw new Error(`bad labels in ${JSON.stringify(line)}`);
      labels[pair[1]!] = pair[2]!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]!.replace('+Inf', 'Infinity')) });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted))?.value;
}

describe('metrics and health endpoints', () => {
  let gearmand: Gearmand;
  let ops: OpsWorker;
  let base: string;

  beforeAll(async () => {
    gearmand = await startGearmand();
    ops = await startWorker(gearmand, { args: ['--metrics-port', '0', '--concurrency', '2'] });
    const line = await ops.worker.waitForLog((entry) => typeof entry.metrics_port === 'number');
    base = `http://127.0.0.1:${line.metrics_port as number}`;
  });
  afterAll(async () => {
    if (ops) await stopWorker(ops.worker);
    await gearmand?.stop();
  });

  it('/metrics parses as Prometheus text and counts exactly the jobs that ran, by function and outcome', async () => {
    const client = new GearmanClient([{ host: gearmand.host, port: gearmand.port }]);
    const outcomes = await Promise.all([
      ...Array.from({ length: 4 }, (_, index) => client.submit('atomWorkerTest', JSON.stringify({ echo: index, sleepMs: 20 }))),
      ...Array.from({ length: 2 }, () => client.submit('atomWorkerTest', JSON.stringify({ fail: 'no' }))),
      client.submit('atomWorkerTest', 'not json'),
    ]);
    client.close();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['complete', 'complete', 'complete', 'complete', 'fail', 'fail', 'fail']);

    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const { samples, types } = parsePrometheus(await response.text());
    expect(types.get('atom_worker_jobs_total')).toBe('counter');
    expect(types.get('atom_worker_job_duration_seconds')).toBe('histogram');
    expect(value(samples, 'atom_worker_jobs_total', { function: 'atomWorkerTest', outcome: 'completed' })).toBe(4);
    expect(value(samples, 'atom_worker_jobs_total', { function: 'atomWorkerTest', outcome: 'failed' })).toBe(2);
    expect(value(samples, 'atom_worker_jobs_total', { function: 'atomWorkerTest', outcome: 'rejected' })).toBe(1);
    expect(value(samples, 'atom_worker_job_duration_seconds_count', { function: 'atomWorkerTest' })).toBe(7);
    expect(value(samples, 'atom_worker_job_duration_seconds_sum', { function: 'atomWorkerTest' })).toBeGreaterThanOrEqual(0.08);
    expect(value(samples, 'atom_worker_jobs_in_flight')).toBe(0);
    expect(value(samples, 'atom_worker_server_connected', { server: gearmand.address })).toBe(1);
    expect(value(samples, 'atom_worker_reconnects_total')).toBe(0);
    expect(value(samples, 'atom_worker_event_loop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('/healthz and /readyz answer 200 while registered, /healthz 503 when the job server is gone, and a reconnect is counted', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);

    await gearmand.kill9();
    await ops.worker.waitForLog((line) => line.msg === 'lost connection to job server; reconnecting');
    const unhealthy = await fetch(`${base}/healthz`);
    expect(unhealthy.status).toBe(503);
    expect(await unhealthy.text()).toContain('connected servers: 0');
    expect((await fetch(`${base}/readyz`)).status).toBe(503);

    await gearmand.restart();
    await ops.worker.waitForLog((line) => typeof line.msg === 'string' && line.msg.startsWith('reconnected to job server'));
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const { samples } = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
    expect(value(samples, 'atom_worker_reconnects_total')).toBe(1);
    expect(value(samples, 'atom_worker_server_connected', { server: gearmand.address })).toBe(1);
  });
});
