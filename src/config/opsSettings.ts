// The settings of the operator-facing extras: gearmand's queue gauges, the dashboard, journalled
// payloads and automatic retries. Resolved apart from settings.ts so each stays one concern.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, describeReadError } from './errors.js';
import type { AtomWorkerSection } from './schema.js';

/** How a failed background job is submitted again (a job module's `retry`, or `atom_worker.retry.<name>`). */
export interface RetryPolicy {
  /** Runs in all, the first one included (1 = no retry). */
  readonly attempts: number;
  /** The wait before the second run; doubled for each further one. */
  readonly backoffMs: number;
  /** The longest wait between two runs. */
  readonly maxBackoffMs: number;
  /** Retry a job that carries an AtoM job row too (its row stays "in progress" until the last run). */
  readonly atomJobs: boolean;
}

export const DEFAULT_RETRY_BACKOFF_MS = 1000;
export const DEFAULT_RETRY_MAX_BACKOFF_MS = 5 * 60_000;
export const DEFAULT_QUEUE_METRICS_INTERVAL_S = 15;
export const DEFAULT_PAYLOAD_MAX_BYTES = 1024 * 1024;
/** Keys whose values never reach the journal, whatever the config adds. */
export const DEFAULT_REDACT_KEYS: readonly string[] = ['password', 'passwd', 'secret', 'token', 'api_key', 'apikey'];

export interface PayloadJournalSettings {
  readonly enabled: boolean;
  readonly maxBytes: number;
  /** Lower-case key names whose values are replaced before a payload is journalled. */
  readonly redactKeys: readonly string[];
}

export interface DashboardSettings {
  /** Serve the page at `/` on the metrics port. */
  readonly enabled: boolean;
  /** Allow quiet/resume and retry from the page (loopback, or with the token). */
  readonly actions: boolean;
  readonly token: string | undefined;
}

export interface OpsSettings {
  /** Poll gearmand's `status` for the queue gauges this often; undefined = off. */
  readonly queueMetricsIntervalMs: number | undefined;
  readonly journalPayloads: PayloadJournalSettings;
  readonly dashboard: DashboardSettings;
  /** Retry policies from the config, by job name (without the AtoM prefix). */
  readonly retry: Readonly<Record<string, RetryPolicy>>;
}

/** A policy in the form a job module writes it, defaults filled in. */
export function retryPolicyOf(policy: { attempts: number; backoffMs?: number; maxBackoffMs?: number; atomJobs?: boolean }): RetryPolicy {
  return {
    attempts: policy.attempts,
    backoffMs: policy.backoffMs ?? DEFAULT_RETRY_BACKOFF_MS,
    maxBackoffMs: policy.maxBackoffMs ?? DEFAULT_RETRY_MAX_BACKOFF_MS,
    atomJobs: policy.atomJobs ?? false,
  };
}

/** The wait before run `attempt + 1` after run `attempt` failed (attempt counts from 1). */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, attempt - 1));
}

function readToken(file: string, aw: AtomWorkerSection): string | undefined {
  if (aw.dashboard_token !== undefined && aw.dashboard_token_file !== undefined) {
    throw new ConfigError(file, 'atom_worker.dashboard_token_file', 'set either dashboard_token or dashboard_token_file, not both');
  }
  if (aw.dashboard_token_file === undefined) return aw.dashboard_token;
  const tokenFile = path.resolve(aw.dashboard_token_file);
  let token: string;
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(file, 'atom_worker.dashboard_token_file', `${tokenFile}: ${describeReadError(error)}`);
  }
  if (token.length < 16) throw new ConfigError(file, 'atom_worker.dashboard_token_file', `${tokenFile}: the token must have at least 16 characters`);
  return token;
}

export function resolveOpsSettings(file: string, aw: AtomWorkerSection): OpsSettings {
  const retry: Record<string, RetryPolicy> = {};
  for (const [name, policy] of Object.entries(aw.retry ?? {})) {
    if (policy.max_backoff_ms !== undefined && policy.backoff_ms !== undefined && policy.max_backoff_ms < policy.backoff_ms) {
      throw new ConfigError(file, `atom_worker.retry.${name}.max_backoff_ms`, `must not be below backoff_ms (${policy.backoff_ms})`);
    }
    retry[name] = retryPolicyOf({
      attempts: policy.attempts,
      ...(policy.backoff_ms !== undefined ? { backoffMs: policy.backoff_ms } : {}),
      ...(policy.max_backoff_ms !== undefined ? { maxBackoffMs: policy.max_backoff_ms } : {}),
      ...(policy.atom_jobs !== undefined ? { atomJobs: policy.atom_jobs } : {}),
    });
  }
  const extraKeys = aw.journal_redact_keys === undefined ? [] : typeof aw.journal_redact_keys === 'string' ? aw.journal_redact_keys.split(',') : aw.journal_redact_keys;
  const redactKeys = [...new Set([...DEFAULT_REDACT_KEYS, ...extraKeys.map((key) => key.trim().toLowerCase()).filter((key) => key !== '')])];
  const interval = aw.queue_metrics_interval ?? DEFAULT_QUEUE_METRICS_INTERVAL_S;
  return {
    queueMetricsIntervalMs: interval === 0 ? undefined : interval * 1000,
    journalPayloads: { enabled: aw.journal_payloads ?? false, maxBytes: aw.journal_payload_max_bytes ?? DEFAULT_PAYLOAD_MAX_BYTES, redactKeys },
    dashboard: { enabled: aw.dashboard ?? true, actions: aw.dashboard_actions ?? false, token: readToken(file, aw) },
    retry,
  };
}
