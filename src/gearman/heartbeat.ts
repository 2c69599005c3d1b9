// The heartbeat of one connection: a connection that stops forwarding without a FIN (a hung load
// balancer, a frozen host) is invisible to TCP keepalive, whose probes the peer's kernel answers.
// After `intervalMs` with nothing received, `probe()` is called (WorkerLink sends ECHO_REQ, which
// gearmand answers in any state, also while the connection sleeps or runs a job); nothing received
// within `timeoutMs` after that and `dead()` is called.
export interface HeartbeatOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  probe(): void;
  dead(error: Error): void;
}

export class Heartbeat {
  private lastHeardAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: HeartbeatOptions) {
    this.arm(options.intervalMs);
  }

  /** Bytes arrived: the peer is there. */
  heard(): void {
    this.lastHeardAt = Date.now();
    if (this.deadline !== undefined) {
      clearTimeout(this.deadline);
      this.deadline = undefined;
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.deadline);
  }

  private arm(inMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.beat(), inMs);
    // Timers of their own must not keep a finished process alive.
    this.timer.unref();
  }

  private beat(): void {
    if (this.stopped) return;
    const quietMs = Date.now() - this.lastHeardAt;
    if (quietMs < this.options.intervalMs) {
      this.arm(this.options.intervalMs - quietMs);
      return;
    }
    if (this.deadline === undefined) {
      this.options.probe();
      this.deadline = setTimeout(() => {
        this.deadline = undefined;
        if (!this.stopped) this.options.dead(new Error(`no answer to a heartbeat within ${this.options.timeoutMs / 1000} s (the connection is dead)`));
      }, this.options.timeoutMs);
      this.deadline.unref();
    }
    this.arm(this.options.intervalMs);
  }
}
