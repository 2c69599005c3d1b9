// One TCP connection to a job server that speaks binary packets: connect, write, decode, close.
// Callers get whole packets and a single close notification; they never see bytes.
import net from 'node:net';
import { encodePacket, encodePackets, type OversizedPacket, PacketDecoder, type Packet, type PacketArgument, ProtocolError } from './codec.js';
import type { ServerAddress } from './address.js';

export interface ConnectionHandlers {
  onPacket(packet: Packet): void;
  /** Bytes arrived (a part of a packet counts): the peer is alive. */
  onReceive?(): void;
  /** A packet over maxPacketBytes, skipped in the stream. Without this handler it closes the connection. */
  onOversized?(packet: OversizedPacket): void;
  /** Called exactly once, after the socket is gone. `error` is set for failures, unset for a clean close. */
  onClose(error: Error | undefined): void;
}

export interface ConnectOptions {
  readonly connectTimeoutMs: number;
  readonly maxPacketBytes: number;
}

export class PacketConnection {
  private closed = false;
  private closeError: Error | undefined;
  private readonly decoder: PacketDecoder;

  private constructor(
    private readonly socket: net.Socket,
    private readonly handlers: ConnectionHandlers,
    maxPacketBytes: number,
  ) {
    const onOversized = handlers.onOversized;
    this.decoder = new PacketDecoder((packet) => this.handlers.onPacket(packet), maxPacketBytes, onOversized ? (packet) => onOversized.call(handlers, packet) : undefined);
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      this.handlers.onReceive?.();
      try {
        this.decoder.push(chunk);
      } catch (error) {
        this.destroy(error instanceof Error ? error : new ProtocolError(String(error)));
      }
    });
    socket.on('error', (error) => {
      this.closeError ??= error;
    });
    socket.on('close', () => {
      this.closed = true;
      this.handlers.onClose(this.closeError);
    });
  }

  /** Open a connection; resolves once connected, rejects on failure or timeout. */
  static connect(address: ServerAddress, handlers: ConnectionHandlers, options: ConnectOptions): Promise<PacketConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: address.host, port: address.port });
      const timer = setTimeout(() => {
        socket.destroy(new Error(`connect timed out after ${options.connectTimeoutMs} ms`));
      }, options.connectTimeoutMs);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        reject(error);
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000);
        resolve(new PacketConnection(socket, handlers, options.maxPacketBytes));
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  send(type: number, args: readonly PacketArgument[] = []): void {
    if (this.closed) return;
    this.socket.write(encodePacket('REQ', type, args));
  }

  /** Several packets in one write (one syscall), e.g. registration. */
  sendBatch(packets: ReadonlyArray<readonly [number, readonly PacketArgument[]]>): void {
    if (this.closed || packets.length === 0) return;
    this.socket.write(encodePackets('REQ', packets));
  }

  /** Close after flushing what was written. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    // A peer that never closes its side must not keep us waiting.
    this.socket.setTimeout(2000, () => this.socket.destroy());
  }

  /** Close now, reporting `error` to onClose. */
  destroy(error?: Error): void {
    if (this.closeError === undefined && error) this.closeError = error;
    this.socket.destroy();
  }
}
