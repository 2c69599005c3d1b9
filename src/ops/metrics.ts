// Prometheus metrics (prom-client, a registry of our own) and the HTTP server that serves them with
// the health endpoints: /metrics, /healthz (connected to a job server, event loop healthy), /readyz
// (registered and taking jobs).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WorkerObserver, WorkerState } from '../runtime/events.js';

export interface MetricsSources {
  /** Event-loop lag of the last tick, in ms. */
  readonly lagMs: () => number;
  /** The largest lag since start, in ms. */
  readonly maxLagMs: () => number;
  readonly loopHealthy: () => boolean;
  readonly connectedServers: () => number;
  readonly state: () => WorkerState;
  /** AtoM job row updates waiting for the database (undefined: AtoM's database not configured). */
  readonly atomBacklog?: () => number | undefined;
}

export interface Metrics {
  readonly registry: Registry;
  readonly observer: WorkerObserver;
}

export function createMetrics(servers: readonly string[], sources: MetricsSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const jobs = new Counter({
    name: 'atom_worker_jobs_total',
    help: 'Jobs run, by function and outcome (completed, failed, rejected, timed_out, interrupted)',
    labelNames: ['function', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'atom_worker_job_duration_seconds',
    help: 'Job run time, by function',
    labelNames: ['function'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [registry],
  });
  const inFlight = new Gauge({ name: 'atom_worker_jobs_in_flight', help: 'Jobs running now', registers: [registry] });
  const connected = new Gauge({
    name: 'atom_worker_server_connected',
    help: '1 while registered on the job server, 0 otherwise',
    labelNames: ['server'] as const,
    registers: [registry],
  });
  const reconnects = new Counter({ name: 'atom_worker_reconnects_total', help: 'Reconnections to a job server after losing it', registers: [registry] });
  new Gauge({
    name: 'atom_worker_event_loop_lag_seconds',
    help: 'Event-loop lag measured by the worker\'s loop monitor',
    registers: [registry],
    collect() {
      this.set(sources.lagMs() / 1000);
    },
  });
  new Gauge({
    name: 'atom_worker_event_loop_lag_max_seconds',
    help: 'Largest event-loop lag since the worker started',
    registers: [registry],
    collect() {
      this.set(sources.maxLagMs() / 1000);
    },
  });
  if (sources.atomBacklog) {
    const atomBacklog = sources.atomBacklog;
    new Gauge({
      name: 'atom_worker_atom_row_updates_waiting',
      help: "AtoM job row updates waiting for AtoM's database (the outbox backlog)",
      registers: [registry],
      collect() {
        this.set(atomBacklog() ?? 0);
      },
    });
  }
  for (const server of servers) connected.set({ server }, 0);

  const observer: WorkerObserver = {
    jobStarted() {
      inFlight.inc();
    },
    jobEnded(event, status, durationMs) {
      inFlight.dec();
      jobs.inc({ function: event.info.function, outcome: status });
      duration.observe({ function: event.info.function }, durationMs / 1000);
    },
    serverChanged(server, isConnected) {
      connected.set({ server }, isConnected ? 1 : 0);
    },
    reconnected() {
      reconnects.inc();
    },
  };
  return { registry, observer };
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  readonly sources: MetricsSources;
}

export interface OpsHttpServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Health: connected to at least one job server, with an event loop that ticks on time. */
function healthOf(sources: MetricsSources): { ok: boolean; detail: string } {
  const servers = sources.connectedServers();
  const loop = sources.loopHealthy();
  const ok = servers > 0 && loop && sources.state() !== 'stopped';
  return { ok, detail: `connected servers: ${servers}; event loop: ${loop ? 'healthy' : 'blocked'}; state: ${sources.state()}` };
}

/** Ready: registered on a job server and taking (or pausing, not draining) jobs. */
function readinessOf(sources: MetricsSources): { ok: boolean; detail: string } {
  const state = sources.state();
  const servers = sources.connectedServers();
  const ok = servers > 0 && (state === 'running' || state === 'quiet');
  return { ok, detail: `registered on ${servers} server(s); state: ${state}` };
}

export function startOpsHttpServer(options: HttpServerOptions): Promise<OpsHttpServer> {
  const server = http.createServer((request, response) => {
    const url = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const text = (status: number, body: string): void => {
      response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(`${body}\n`);
    };
    switch (url) {
      case '/metrics':
        options.registry.metrics().then(
          (body) => {
            response.writeHead(200, { 'Content-Type': options.registry.contentType }).end(body);
          },
          (error: unknown) => text(500, `metrics failed: ${(error as Error).message}`),
        );
        return;
      case '/healthz': {
        const health = healthOf(options.sources);
        text(health.ok ? 200 : 503, `${health.ok ? 'ok' : 'unhealthy'}: ${health.detail}`);
        return;
      }
      case '/readyz': {
        const ready = readinessOf(options.sources);
        text(ready.ok ? 200 : 503, `${ready.ok ? 'ready' : 'not ready'}: ${ready.detail}`);
        return;
      }
      default:
        text(404, 'not found: try /metrics, /healthz or /readyz');
    }
  });
  // Keep-alive connections must not hold the process open at exit.
  server.keepAliveTimeout = 1000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', reject);
      server.unref();
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
