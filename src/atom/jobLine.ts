// AtoM's job log line, as arJobLogger writes it into `job.output`:
// `[info] [2026-12-02 10:00:00] Job 451 "qtSwordPluginWorker": Job started.` (priority name, the
// host's local time, the row id, the job name, the message).

/** sfLogger's priority names for the levels a handler's log can have. */
export type AtomPriority = 'info' | 'warning' | 'err';

/** `YYYY-MM-DD HH:MM:SS` in local time: PHP's `date('Y-m-d H:i:s')`, and MySQL DATETIME's form. */
export function localDateTime(epochMs: number): string {
  const at = new Date(epochMs);
  const two = (value: number): string => String(value).padStart(2, '0');
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
}

export function atomJobLine(priority: AtomPriority, epochMs: number, jobId: number, jobName: string, message: string): string {
  return `[${priority}] [${localDateTime(epochMs)}] Job ${jobId} "${jobName}": ${message}`;
}

/**
 * PHP's `json_encode` with its default flags, for the "Parameters: {…}" line: like JSON.stringify,
 * but `/` is escaped and every non-ASCII character is written as a \uXXXX escape.
 */
export function phpJsonEncode(value: unknown): string {
  const json = JSON.stringify(value) ?? 'null';
  return json.replace(/[/\u0080-\uffff]/g, (char) => (char === '/' ? '\\/' : `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`));
}
