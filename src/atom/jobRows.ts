// The changes AtoM's own worker makes to a `job` row (arBaseJob, arJobLogger, QubitJob), as data:
// each is kept in the outbox until the database has applied it, and carries the time it happened,
// so a change replayed after an outage still says when the job really ended.
import type { SqlResultHeader } from '../types.js';
import type { AtomDatabase } from './database.js';
import { localDateTime } from './jobLine.js';

/** AtoM's fixed term ids (data/fixtures/taxonomyTerms.yml). */
export const JOB_STATUS_IN_PROGRESS = 183;
export const JOB_STATUS_COMPLETED = 184;
export const JOB_STATUS_ERROR = 185;
export const JOB_ERROR_NOTE = 197;

/** `job.output` is TEXT: AtoM keeps its first 65,534 characters. */
const OUTPUT_LIMIT = 65534;

export type JobRowChange =
  /** One formatted log line appended to `job.output`. */
  | { readonly kind: 'line'; readonly jobId: number; readonly text: string }
  /** The end: status, `completed_at`, and for an error the note AtoM shows as the job's error. */
  | { readonly kind: 'end'; readonly jobId: number; readonly statusId: number; readonly at: number; readonly errorNote?: string; readonly culture: string }
  /** Where an export's file is, for AtoM's download link. */
  | { readonly kind: 'download_path'; readonly jobId: number; readonly path: string };

/** Apply one change. Resolves with false when the row no longer exists (deleted in AtoM meanwhile). */
export async function applyJobRowChange(db: AtomDatabase, change: JobRowChange): Promise<boolean> {
  switch (change.kind) {
    case 'line': {
      const [result] = await db.query<{ affectedRows: number }>(
        "UPDATE job SET output = SUBSTR(CONCAT_WS('', output, ?, '\\n'), 1, ?) WHERE id = ?",
        [change.text, OUTPUT_LIMIT, change.jobId],
      );
      return (result?.affectedRows ?? 0) > 0;
    }
    case 'download_path': {
      const [result] = await db.query<{ affectedRows: number }>('UPDATE job SET download_path = ? WHERE id = ?', [change.path, change.jobId]);
      return (result?.affectedRows ?? 0) > 0;
    }
    case 'end': {
      let found = false;
      const at = localDateTime(change.at);
      await db.transaction(async (sql) => {
        const [updated] = await sql.query<SqlResultHeader>('UPDATE job SET status_id = ?, completed_at = ? WHERE id = ?', [change.statusId, at, change.jobId]);
        found = (updated?.affectedRows ?? 0) > 0;
        if (!found) return;
        // Propel's save of a QubitJob touches its object row too.
        await sql.query('UPDATE object SET updated_at = ? WHERE id = ?', [at, change.jobId]);
        if (change.errorNote === undefined) return;
        const [note] = await sql.query<SqlResultHeader>('INSERT INTO note (object_id, type_id, source_culture) VALUES (?, ?, ?)', [change.jobId, JOB_ERROR_NOTE, change.culture]);
        await sql.query('INSERT INTO note_i18n (content, id, culture) VALUES (?, ?, ?)', [change.errorNote, note!.insertId, change.culture]);
      });
      return found;
    }
  }
}

/** Whether AtoM's row for this job exists (AtoM's worker refuses a job whose row is missing). */
export async function jobRowExists(db: AtomDatabase, jobId: number): Promise<boolean> {
  const rows = await db.query<{ id: number }>('SELECT id FROM job WHERE id = ?', [jobId]);
  return rows.length > 0;
}
