// Working folders a DIP job leaves behind when its worker is killed: `.tmp-*` (a package being
// built, hard links that keep the deposit's blocks allocated) and `.old-*` (a package being
// replaced) in dip_output_dir, and `atom-worker-dip-*` (an extracted zip) in temp_dir. Their names
// carry the host and pid of the worker that made them, so a sweep can tell a dead owner's folder
// from a live job's.
import { hostname } from 'node:os';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { DipSettings } from './settings.js';
import { errorCode, removeTree } from './util.js';

export const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/** This host as it appears in the names: no dashes, so the pid after it can be read back. */
const HOST_TAG = hostname().replace(/[^A-Za-z0-9.]/g, '_');

export function ownerTag(): string {
  return `${HOST_TAG}-${process.pid}`;
}

/** mkdtemp prefixes that name this process as the owner. */
export function buildPrefix(): string {
  return `.tmp-${ownerTag()}-`;
}
export function replacedPrefix(aipUuid: string): string {
  return `.old-${ownerTag()}-${aipUuid}-`;
}
export function extractionPrefix(): string {
  return `atom-worker-dip-${ownerTag()}-`;
}

const PATTERNS: Record<'output' | 'temp', RegExp[]> = {
  output: [/^\.tmp-/, /^\.old-/],
  temp: [/^atom-worker-dip-/],
};

/** Whether a name made with ownerTag() belongs to a process of this host that has ended. */
export function ownerGone(name: string): boolean {
  const match = new RegExp(`-(${HOST_TAG.replace(/\./g, '\\.')})-(\\d+)-`).exec(name);
  if (!match) return false;
  const pid = Number(match[2]);
  return pid !== process.pid && !processAlive(pid);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

/**
 * Whether a leftover may go. One named after a process on this host goes once that process is gone
 * (never while it runs, however long); another host's, or one without an owner in its name, after a day.
 */
function isStale(name: string, mtimeMs: number, now: number): boolean {
  const match = /^(?:\.tmp|\.old|atom-worker-dip)-(.+?)-(\d+)-/.exec(name);
  if (match && match[1] === HOST_TAG) {
    const pid = Number(match[2]);
    return pid !== process.pid && !processAlive(pid);
  }
  return now - mtimeMs > STALE_AFTER_MS;
}

async function sweepFolder(dir: string, patterns: RegExp[], now: number): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!patterns.some((pattern) => pattern.test(name))) continue;
    const full = path.join(dir, name);
    const stat = await lstat(full).catch(() => undefined);
    if (!stat?.isDirectory()) continue;
    if (isStale(name, stat.mtimeMs, now)) {
      await removeTree(full);
      removed.push(full);
    }
  }
  return removed;
}

/** Remove the leftovers of dead DIP jobs; returns the folders removed. */
export async function sweepLeftovers(settings: Pick<DipSettings, 'dipOutputDir' | 'tempDir'>, now = Date.now()): Promise<string[]> {
  return [...(await sweepFolder(settings.dipOutputDir, PATTERNS.output, now)), ...(await sweepFolder(settings.tempDir, PATTERNS.temp, now))];
}
