// Whether the process that wrote a row still runs: a `running` row whose process is gone on this
// host was left by a crash (the writer's re-delivery check, `jobs list`, AtoM's outbox owners).

/** Whether a process with this pid exists on this machine. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
