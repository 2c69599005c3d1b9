// The operations side of a running worker, each part optional: Prometheus metrics with /healthz and
// /readyz, the control socket (`atom-worker status/quiet/resume --local`), and sd_notify under systemd.
// prom-client (behind ../ops/metrics.js) loads only when a metrics port is set.
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { EX_CONFIG } from '../exitCodes.js';
import { formatAddress } from '../gearman/address.js';
import { type ControlServer, runDirCandidates, startControlServer } from '../ops/control.js';
import type { Metrics, MetricsSources, OpsHttpServer } from '../ops/metrics.js';
import { notifySenderFromEnv, type SdNotifier, startSdNotify } from '../ops/sdNotify.js';
import type { LoopMonitor } from '../runtime/loopMonitor.js';
import type { Worker } from '../runtime/worker.js';
import { VERSION } from '../version.js';
import { StartupError } from './startupError.js';

export interface OpsContext {
  readonly settings: Settings;
  readonly log: Logger;
  readonly clientId: string;
  /** The worker, once constructed (the parts are made before it, as its observers). */
  readonly worker: () => Worker;
  readonly monitor: LoopMonitor;
  readonly atomBacklog: (() => number) | undefined;
}

export interface MetricsPart {
  readonly metrics: Metrics;
  /** Listen on the metrics port; a port in use is a StartupError (exit 78). */
  listen(): Promise<OpsHttpServer>;
}

export async function createMetricsPart(context: OpsContext): Promise<MetricsPart | undefined> {
  const { settings } = context;
  const port = settings.metricsPort;
  if (port === undefined) return undefined;
  const metricsModule = await import('../ops/metrics.js');
  const sources: MetricsSources = {
    lagMs: () => context.monitor.lagMs,
    maxLagMs: () => context.monitor.maxLagMs,
    loopHealthy: () => context.monitor.healthy(),
    connectedServers: () => context.worker().connectedServers.length,
    state: () => context.worker().currentState,
    ...(context.atomBacklog ? { atomBacklog: context.atomBacklog } : {}),
  };
  const metrics = metricsModule.createMetrics(settings.servers.map(formatAddress), sources);
  return {
    metrics,
    async listen() {
      const host = settings.metricsHost;
      try {
        const server = await metricsModule.startOpsHttpServer({ host, port, registry: metrics.registry, sources });
        context.log.info({ metrics_host: host, metrics_port: server.port }, `metrics and health on http://${host.includes(':') ? `[${host}]` : host}:${server.port}/metrics`);
        return server;
      } catch (error) {
        context.log.fatal({ err: (error as Error).message, metrics_host: host, metrics_port: port }, 'cannot listen for metrics');
        throw new StartupError(`cannot listen for metrics on ${host}:${port}: ${(error as Error).message}`, EX_CONFIG);
      }
    },
  };
}

export function createSdNotify(context: OpsContext, environment: NodeJS.ProcessEnv): SdNotifier | undefined {
  const sender = notifySenderFromEnv(environment, context.log);
  if (!sender) return undefined;
  return startSdNotify({
    sender,
    environment,
    concurrency: context.settings.concurrency,
    runningJobs: () => context.worker().runningJobs(),
    loopHealthy: () => context.monitor.healthy(),
    state: () => context.worker().currentState,
    drainBudgetMs: context.settings.shutdownTimeoutMs + 10_000,
  });
}

/** The control socket; without one (no writable run folder) the worker still runs, and says so. */
export async function startControl(context: OpsContext): Promise<ControlServer | undefined> {
  const { settings, log } = context;
  const startedAt = Date.now();
  try {
    const control = await startControlServer(
      runDirCandidates(settings.runDir),
      {
        status: () => {
          const worker = context.worker();
          const backlog = context.atomBacklog?.();
          return {
            pid: process.pid,
            clientId: context.clientId,
            version: VERSION,
            state: worker.currentState,
            concurrency: settings.concurrency,
            startedAt,
            servers: settings.servers.map(formatAddress),
            connectedServers: worker.connectedServers,
            jobsStarted: worker.startedJobCount,
            ...(backlog !== undefined ? { atomBacklog: backlog } : {}),
            running: worker.runningJobs().map((job) => ({ ...job, ageS: Math.round((Date.now() - job.startedAt) / 1000) })),
          };
        },
        quiet: () => context.worker().quiet(),
        resume: () => context.worker().resume(),
      },
      log,
    );
    log.debug({ control_socket: control.socketPath }, 'control socket listening');
    return control;
  } catch (error) {
    log.warn({ err: (error as Error).message }, 'no control socket: `atom-worker quiet/resume/status --local` cannot reach this worker');
    return undefined;
  }
}
