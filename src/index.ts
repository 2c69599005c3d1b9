// Public package entry: what job modules import (`import { defineJob } from 'atom-worker'`) and what
// a Node program embeds a worker with (`import { startWorker } from 'atom-worker'`).
export { defineJob } from './types.js';
export type { AnyJobDefinition, AtomJobContext, AtomSite, AtomSql, JobContext, JobDefinition, JobInfo, JobStartContext, PayloadSpec, RawJobDefinition, SqlResultHeader, SqlValue } from './types.js';
export { startWorker } from './service/startWorker.js';
export type { StartWorkerOptions, WorkerConfig } from './service/startWorker.js';
export type { StopOptions, WorkerHandle } from './service/handle.js';
export type { JobEnded, WorkerEventName, WorkerEvents } from './service/events.js';
export { StartupError } from './service/startupError.js';
export { ConfigError } from './config/errors.js';
export { JobLoadError } from './runtime/loadJobs.js';
export type { JobEndStatus, JobEvent, WorkerState } from './runtime/events.js';
export type { RunningJob } from './runtime/worker.js';
export type { ConfigFlags, Settings } from './config/settings.js';
