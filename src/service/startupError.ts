// A worker that cannot start for a reason the user can fix (the journal cannot be opened, the
// metrics port is taken): the message to print, and the exit code the `run` verb ends with.
export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
