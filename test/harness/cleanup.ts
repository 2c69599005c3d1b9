// Every process a test starts (gearmand, workers) is tracked here and killed after its test file, even
// when a test failed half-way: a stray worker or job server must not outlive the run.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

/** A temp folder to remove once the test file is done. */
export function trackDir(dir: string): string {
  dirs.add(dir);
  return dir;
}

export function removeTrackedDirs(): void {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

export function trackChild(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function killTrackedChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

process.once('exit', killTrackedChildren);
