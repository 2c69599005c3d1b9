// The journal on its own: batched writes, the status mapping, re-delivery after a dead worker, the
// attempt cap, and the reading side (filters, clear keeps running rows).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openJournalDatabase } from '../../src/journal/database.js';
import { JournalReader } from '../../src/journal/reader.js';
import { JournalWriter } from '../../src/journal/writer.js';
import { journalObserver, journalStatusOf } from '../../src/journal/observer.js';
import type { JobEvent } from '../../src/runtime/events.js';
import { tempDir } from '../harness/worker.js';
import { hostname } from 'node:os';

const silent = pino({ level: 'silent' });

function event(handle: string, unique: string, startedAt = Date.now()): JobEvent {
  return { info: { handle, unique, function: 'fn', name: 'fn' }, server: '127.0.0.1:4730', slot: 0, payload: Buffer.alloc(0), payloadBytes: 10, startedAt };
}

/** A pid that certainly belongs to no process now: one that ran and exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('journal writer', () => {
  it('keeps the journal private: a folder it creates is 0700, the file and its -wal 0600, an existing 0644 file tightened', () => {
    const dir = path.join(tempDir(), 'fresh', 'state');
    const file = path.join(dir, 'journal.sqlite');
    const writer = new JournalWriter({ file, flushIntervalMs: 60_000 });
    writer.start('H:p:1', 'u', 'f', 'w', 's', Date.now(), 1);
    writer.flush();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${file}-wal`)).toBe(true);
    expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    writer.close();
    const old = path.join(tempDir(), 'old.sqlite');
    writeFileSync(old, '');
    chmodSync(old, 0o644);
    openJournalDatabase(old).close();
    expect(statSync(old).mode & 0o777).toBe(0o600);
  });

  it('queues writes and flushes them in one batch; a run that ends before the flush is one row with its outcome', () => {
    const file = path.join(tempDir(), 'j.sqlite');
    const writer = new JournalWriter({ file, flushIntervalMs: 60_000 });
    const ref = writer.start('H:x:1', 'u1', 'fn', 'w', 's', 1000, 3);
    writer.progress(ref, 2, 5);
    const peek = new Database(file, { readonly: true });
    expect((peek.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n).toBe(0);
    writer.end(ref, 'completed', 1250, 250, undefined, 42);
    writer.flush();
    const rows = peek.prepare('SELECT * FROM jobs').all() as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ handle: 'H:x:1', unique_key: 'u1', status: 'completed', attempt: 1, duration_ms: 250, result_bytes: 42, progress_numerator: 2, progress_denominator: 5, pid: process.pid });
    peek.close();
    writer.close();
  });

  it('a failed batch rolls back whole and is written again, once, by the next flush', () => {
    const file = path.join(tempDir(), 'j.sqlite');
    const errors: string[] = [];
    const writer = new JournalWriter({ file, flushIntervalMs: 60_000, onError: (error) => errors.push(error.message) });
    const admin = new Database(file);
    admin.exec("CREATE TRIGGER refuse BEFORE INSERT ON jobs WHEN NEW.handle = 'H:bad' BEGIN SELECT RAISE(ABORT, 'refused by test'); END");
    const good = writer.start('H:good', 'g', 'fn', 'w', 's', 1, 1);
    writer.start('H:bad', 'b', 'fn', 'w', 's', 2, 1);
    writer.end(good, 'completed', 3, 2, undefined, undefined);
    writer.flush();
    expect(errors).toEqual(['refused by test']);
    expect((admin.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n).toBe(0);
    admin.exec('DROP TRIGGER refuse');
    writer.flush();
    expect(admin.prepare('SELECT handle, status FROM jobs ORDER BY id').all()).toEqual([
      { handle: 'H:good', status: 'completed' },
      { handle: 'H:bad', status: 'running' },
    ]);
    admin.close();
    writer.close();
  });

  it('maps worker outcomes to journal statuses', () => {
    expect(journalStatusOf('completed')).toBe('completed');
    expect(journalStatusOf('failed')).toBe('failed');
    expect(journalStatusOf('rejected')).toBe('failed');
    expect(journalStatusOf('timed_out')).toBe('timed_out');
    expect(journalStatusOf('interrupted')).toBe('abandoned');
  });

  it('counts a job left running by a dead worker as re-delivered: attempt 2, and closes the dead run as abandoned', () => {
    const file = path.join(tempDir(), 'j.sqlite');
    const db = openJournalDatabase(file);
    const pid = deadPid();
    db.prepare(
      `INSERT INTO jobs (handle, unique_key, function, worker_id, host, pid, attempt, status, started_at) VALUES ('H:x:7', 'job-7', 'fn', 'w', ?, ?, 1, 'running', 1)`,
    ).run(hostname(), pid);
    db.close();
    const writer = new JournalWriter({ file });
    const ref = writer.start('H:x:9', 'job-7', 'fn', 'w', 's', 2, 1);
    expect(ref.attempt).toBe(2);
    expect(ref.previous).toMatchObject({ pid, processGone: true, status: 'running' });
    writer.end(ref, 'completed', 3, 1, undefined, undefined);
    writer.close();
    const reader = new JournalReader(file);
    const runs = reader.show('job-7');
    expect(runs.map((row) => [row.attempt, row.status])).toEqual([
      [1, 'abandoned'],
      [2, 'completed'],
    ]);
    expect(runs[0]!.error).toContain(`pid ${pid}`);
    reader.close();
  });

  it('sees a dead worker\'s running row written after it opened, once its in-memory copy is a batch interval old', () => {
    const file = path.join(tempDir(), 'j.sqlite');
    const writer = new JournalWriter({ file, flushIntervalMs: 60_000, suspectRefreshMs: 50 });
    const t0 = Date.now();
    // Loaded at open: nothing suspect yet. Another process then journals a run and dies.
    const early = writer.start('H:x:1', 'other', 'fn', 'w', 's', t0, 1);
    expect(early.attempt).toBe(1);
    const pid = deadPid();
    const other = new Database(file);
    other.prepare(`INSERT INTO jobs (handle, unique_key, function, worker_id, host, pid, attempt, status, started_at) VALUES ('H:y:1', 'late', 'fn', 'w', ?, ?, 1, 'running', ?)`).run(hostname(), pid, t0);
    other.close();
    const redelivered = writer.start('H:x:2', 'late', 'fn', 'w', 's', t0 + 50, 1);
    expect(redelivered.attempt).toBe(2);
    expect(redelivered.previous).toMatchObject({ pid, processGone: true });
    writer.end(redelivered, 'completed', t0 + 60, 10, undefined, undefined);
    writer.end(early, 'completed', t0 + 60, 60, undefined, undefined);
    writer.close();
    const reader = new JournalReader(file);
    expect(reader.show('late').map((row) => [row.attempt, row.status])).toEqual([
      [1, 'abandoned'],
      [2, 'completed'],
    ]);
    reader.close();
  });

  it('does not count a finished job with the same unique key as an earlier attempt', () => {
    const file = path.join(tempDir(), 'j.sqlite');
    const writer = new JournalWriter({ file });
    const first = writer.start('H:x:1', 'same', 'fn', 'w', 's', 1, 1);
    writer.end(first, 'completed', 2, 1, undefined, undefined);
    const second = writer.start('H:x:2', 'same', 'fn', 'w', 's', 3, 1);
    expect(second.attempt).toBe(1);
    // Interrupted in this process (connection lost): gearmand re-delivers it, maybe to us.
    writer.end(second, 'abandoned', 4, 1, 'connection lost', undefined);
    const third = writer.start('H:x:2', 'same', 'fn', 'w', 's', 5, 1);
    expect(third.attempt).toBe(2);
    writer.close();
  });

  it('refuses a re-delivered job past max_attempts with "gave up after N attempts"', () => {
    const file = path.join(tempDir(), 'j.sqlite');
    const writer = new JournalWriter({ file });
    const observer = journalObserver({ writer, log: silent, workerId: () => 'w', maxAttempts: 2 });
    const runs: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const started = event('H:x:5', 'capped');
      observer.jobStarted!(started);
      const refusal = observer.refuseJob!(started);
      runs.push(refusal ?? 'run');
      observer.jobEnded!(started, refusal ? 'rejected' : 'interrupted', 5, refusal ? { reason: refusal } : { reason: 'lost' });
    }
    expect(runs).toEqual(['run', 'run', 'gave up after 2 attempts']);
    writer.close();
    const reader = new JournalReader(file);
    expect(reader.show('capped').map((row) => [row.attempt, row.status, row.error])).toEqual([
      [1, 'abandoned', 'lost'],
      [2, 'abandoned', 'lost'],
      [3, 'failed', 'gave up after 2 attempts'],
    ]);
    reader.close();
  });
});

describe('journal reader', () => {
  it('filters by status, function and time, and clear never deletes running rows', () => {
    const file = path.join(tempDir(), 'j.sqlite');
    const writer = new JournalWriter({ file });
    const now = Date.now();
    const old = writer.start('H:1', 'a', 'one', 'w', 's', now - 10 * 86_400_000, 1);
    writer.end(old, 'failed', now - 10 * 86_400_000 + 5, 5, 'bad', undefined);
    const recent = writer.start('H:2', 'b', 'two', 'w', 's', now - 1000, 1);
    writer.end(recent, 'completed', now, 1000, undefined, undefined);
    writer.start('H:3', 'c', 'two', 'w', 's', now - 20 * 86_400_000, 1);
    writer.flush();
    const reader = new JournalReader(file, { write: true });
    expect(reader.list({ status: 'failed' }).map((row) => row.handle)).toEqual(['H:1']);
    expect(reader.list({ function: 'two' }).map((row) => row.handle)).toEqual(['H:2', 'H:3']);
    expect(reader.list({ since: now - 86_400_000 }).map((row) => row.handle)).toEqual(['H:2']);
    expect(reader.countClearable(now - 86_400_000)).toEqual({ clearable: 1, running: 1 });
    expect(reader.clear(now - 86_400_000)).toBe(1);
    expect(reader.list({}).map((row) => row.handle)).toEqual(['H:2', 'H:3']);
    expect(reader.clear(undefined)).toBe(1);
    expect(reader.list({}).map((row) => [row.handle, row.status])).toEqual([['H:3', 'running']]);
    reader.close();
    writer.close();
  });
});
