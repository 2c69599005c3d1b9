// Public package entry: what job modules may import (`import { defineJob } from 'atom-worker'`).
export { defineJob } from './types.js';
export type { AtomJobContext, AtomSite, AtomSql, JobContext, JobDefinition, JobInfo, JobStartContext, PayloadSpec, RawJobDefinition, SqlResultHeader, SqlValue } from './types.js';
