// One client connection to one job server (client.ts picks the server): it submits, matches each
// JOB_CREATED to the oldest submission awaiting one, follows foreground jobs by handle to their
// outcome, answers GET_STATUS, and fails everything outstanding when the connection is lost.
import type { Packet } from './codec.js';
import { PacketConnection } from './connection.js';
import { PacketType, packetTypeName } from './packets.js';
import { formatAddress, type ServerAddress } from './address.js';
import { ClientError, type JobOutcome, JobServerRefusedError, type JobStatus, type SubmitOptions } from './clientTypes.js';

interface PendingSubmission {
  /** For foreground jobs: registered the moment JOB_CREATED is read, because WORK_* packets for the
   * handle can arrive in the same chunk, before any promise callback would run. */
  readonly follower: RunningJob | undefined;
  resolveCreated(handle: string): void;
  reject(error: Error): void;
}

/** A foreground job being followed to its outcome. */
export interface RunningJob {
  readonly options: SubmitOptions;
  resolve(outcome: JobOutcome): void;
  reject(error: Error): void;
}

const submitTypes = {
  normal: { fg: PacketType.SUBMIT_JOB, bg: PacketType.SUBMIT_JOB_BG },
  high: { fg: PacketType.SUBMIT_JOB_HIGH, bg: PacketType.SUBMIT_JOB_HIGH_BG },
  low: { fg: PacketType.SUBMIT_JOB_LOW, bg: PacketType.SUBMIT_JOB_LOW_BG },
} as const;

/** One client connection to one server, with its FIFO of submissions awaiting JOB_CREATED. */
export class ClientLink {
  private connection: PacketConnection | undefined;
  private connecting: Promise<PacketConnection> | undefined;
  private readonly awaitingCreated: PendingSubmission[] = [];
  private readonly running = new Map<string, RunningJob>();
  /** GET_STATUS requests by handle; gearmand answers each with a STATUS_RES naming the handle. */
  private readonly statusRequests = new Map<string, Array<{ resolve(status: JobStatus): void; reject(error: Error): void }>>();

  constructor(
    readonly address: ServerAddress,
    private readonly options: { connectTimeoutMs: number; maxPacketBytes: number },
  ) {}

  get name(): string {
    return formatAddress(this.address);
  }

  private open(): Promise<PacketConnection> {
    if (this.connection?.isOpen) return Promise.resolve(this.connection);
    this.connecting ??= PacketConnection.connect(
      this.address,
      {
        onPacket: (packet) => this.onPacket(packet),
        onClose: (error) => this.onClose(error),
      },
      this.options,
    ).then(
      (connection) => {
        this.connection = connection;
        this.connecting = undefined;
        // Ask gearmand to forward WORK_EXCEPTION instead of turning it into WORK_FAIL.
        connection.send(PacketType.OPTION_REQ, ['exceptions']);
        return connection;
      },
      (error: unknown) => {
        this.connecting = undefined;
        throw error;
      },
    );
    return this.connecting;
  }

  async submit(fn: string, unique: string, payload: string | Uint8Array, options: SubmitOptions, follower?: RunningJob): Promise<string> {
    const connection = await this.open();
    const priority = options.priority ?? 'normal';
    const type = options.background ? submitTypes[priority].bg : submitTypes[priority].fg;
    return new Promise<string>((resolveCreated, reject) => {
      this.awaitingCreated.push({ follower, resolveCreated, reject });
      connection.send(type, [fn, unique, payload]);
    });
  }

  async getStatus(handle: string): Promise<JobStatus> {
    const connection = await this.open();
    return new Promise<JobStatus>((resolve, reject) => {
      const waiting = this.statusRequests.get(handle) ?? [];
      waiting.push({ resolve, reject });
      this.statusRequests.set(handle, waiting);
      connection.send(PacketType.GET_STATUS, [handle]);
    });
  }

  private onStatusResult(args: readonly Buffer[]): void {
    const handle = args[0]!.toString('latin1');
    const waiting = this.statusRequests.get(handle);
    const request = waiting?.shift();
    if (waiting?.length === 0) this.statusRequests.delete(handle);
    request?.resolve({
      handle,
      server: this.name,
      known: args[1]!.toString() === '1',
      running: args[2]!.toString() === '1',
      numerator: Number(args[3]!.toString()),
      denominator: Number(args[4]!.toString()),
    });
  }

  private onPacket(packet: Packet): void {
    const args = packet.args;
    switch (packet.type) {
      case PacketType.STATUS_RES:
        this.onStatusResult(args);
        return;
      case PacketType.JOB_CREATED: {
        const pending = this.awaitingCreated.shift();
        const handle = args[0]!.toString('latin1');
        if (pending?.follower) {
          this.running.set(handle, pending.follower);
          pending.follower.options.onCreated?.(handle, this.name);
        }
        pending?.resolveCreated(handle);
        return;
      }
      case PacketType.OPTION_RES:
        return;
      case PacketType.ERROR: {
        // An ERROR answers the oldest outstanding request (OPTION_REQ errors are harmless).
        const message = `${args[0]!.toString()}: ${args[1]!.toString()}`;
        const pending = this.awaitingCreated.shift();
        pending?.reject(new JobServerRefusedError(`job server ${this.name} answered ERROR ${message}`));
        return;
      }
      default:
        break;
    }
    const handle = args[0]?.toString('latin1') ?? '';
    const job = this.running.get(handle);
    if (!job) return;
    switch (packet.type) {
      case PacketType.WORK_STATUS:
        job.options.onStatus?.(Number(args[1]!.toString()), Number(args[2]!.toString()));
        return;
      case PacketType.WORK_DATA:
        job.options.onData?.(Buffer.from(args[1]!));
        return;
      case PacketType.WORK_WARNING:
        job.options.onWarning?.(Buffer.from(args[1]!));
        return;
      case PacketType.WORK_COMPLETE:
        this.running.delete(handle);
        job.resolve({ status: 'complete', handle, server: this.name, result: Buffer.from(args[1]!) });
        return;
      case PacketType.WORK_FAIL:
        this.running.delete(handle);
        job.resolve({ status: 'fail', handle, server: this.name });
        return;
      case PacketType.WORK_EXCEPTION:
        this.running.delete(handle);
        job.resolve({ status: 'exception', handle, server: this.name, message: args[1]!.toString() });
        return;
      default:
        this.connection?.destroy(new ClientError(`unexpected ${packetTypeName(packet.type)} from ${this.name}`));
    }
  }

  private onClose(error: Error | undefined): void {
    this.connection = undefined;
    const reason = new ClientError(`lost connection to job server ${this.name}${error ? `: ${error.message}` : ''}`);
    for (const pending of this.awaitingCreated.splice(0)) pending.reject(reason);
    for (const job of this.running.values()) job.reject(reason);
    this.running.clear();
    for (const waiting of this.statusRequests.values()) for (const request of waiting) request.reject(reason);
    this.statusRequests.clear();
  }

  close(): void {
    this.connection?.end();
    this.connection = undefined;
  }
}
