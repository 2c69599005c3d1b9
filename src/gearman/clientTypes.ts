// What a Gearman client's caller deals in: the options of a submission, the outcome of a foreground
// job, GET_STATUS's answer, and the client's errors. Shared by the client (client.ts) and its
// per-server connections (clientLink.ts).

export type Priority = 'high' | 'normal' | 'low';

export interface SubmitOptions {
  readonly unique?: string;
  readonly priority?: Priority;
  readonly background?: boolean;
  /** Called for WORK_STATUS, WORK_DATA and WORK_WARNING of a foreground job. */
  readonly onStatus?: (numerator: number, denominator: number) => void;
  readonly onData?: (data: Buffer) => void;
  readonly onWarning?: (data: Buffer) => void;
  /** Told the handle as soon as the server has created the job, before any WORK_* callback. */
  readonly onCreated?: (handle: string, server: string) => void;
}

export type JobOutcome =
  | { readonly status: 'complete'; readonly handle: string; readonly server: string; readonly result: Buffer }
  | { readonly status: 'fail'; readonly handle: string; readonly server: string }
  | { readonly status: 'exception'; readonly handle: string; readonly server: string; readonly message: string };

export interface BackgroundSubmission {
  readonly handle: string;
  readonly server: string;
}

/** GET_STATUS's answer: whether the server still knows the job, and its last WORK_STATUS. */
export interface JobStatus {
  readonly handle: string;
  readonly server: string;
  /** False once the job has ended (or if it never existed): gearmand forgets finished jobs. */
  readonly known: boolean;
  readonly running: boolean;
  readonly numerator: number;
  readonly denominator: number;
}

export class ClientError extends Error {
  override readonly name: string = 'ClientError';
}

/** The server refused the submission (an ERROR packet): another server would refuse it too. */
export class JobServerRefusedError extends ClientError {
  override readonly name = 'JobServerRefusedError';
}
