// Framing of Gearman binary packets: `\0REQ`/`\0RES`, uint32 type, uint32 size (big-endian), then the
// arguments separated by NUL, the last one raw. Pure functions and a streaming decoder; no I/O here.
import { argumentCount, packetTypeName } from './packets.js';

export const HEADER_SIZE = 12;
const MAGIC_REQ = 0x00524551; // "\0REQ"
const MAGIC_RES = 0x00524553; // "\0RES"

export type Magic = 'REQ' | 'RES';

export interface Packet {
  readonly magic: Magic;
  readonly type: number;
  /** Arguments as views into the received bytes (no copy). The last may contain NUL bytes. */
  readonly args: readonly Buffer[];
}

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

export type PacketArgument = string | Uint8Array;

function argumentBytes(args: readonly PacketArgument[]): number {
  let size = args.length > 0 ? args.length - 1 : 0; // NUL separators
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    size += typeof arg === 'string' ? Buffer.byteLength(arg) : arg.byteLength;
  }
  return size;
}

/** Write one packet at `offset` of `packet` (sized by the caller); returns the offset after it. */
function writePacket(packet: Buffer, offset: number, magic: Magic, type: number, args: readonly PacketArgument[], size: number): number {
  packet.writeUInt32BE(magic === 'REQ' ? MAGIC_REQ : MAGIC_RES, offset);
  packet.writeUInt32BE(type, offset + 4);
  packet.writeUInt32BE(size, offset + 8);
  offset += HEADER_SIZE;
  for (let i = 0; i < args.length; i++) {
    if (i > 0) packet[offset++] = 0;
    const arg = args[i]!;
    if (typeof arg === 'string') offset += packet.write(arg, offset, 'utf8');
    else {
      packet.set(arg, offset);
      offset += arg.byteLength;
    }
  }
  return offset;
}

/** Encode one packet into a single buffer. */
export function encodePacket(magic: Magic, type: number, args: readonly PacketArgument[] = []): Buffer {
  const size = argumentBytes(args);
  const packet = Buffer.allocUnsafe(HEADER_SIZE + size);
  writePacket(packet, 0, magic, type, args, size);
  return packet;
}

/** Encode several packets into one buffer (one allocation, one write). */
export function encodePackets(magic: Magic, packets: ReadonlyArray<readonly [number, readonly PacketArgument[]]>): Buffer {
  const sizes = new Array<number>(packets.length);
  let total = 0;
  for (let i = 0; i < packets.length; i++) {
    sizes[i] = argumentBytes(packets[i]![1]);
    total += HEADER_SIZE + sizes[i]!;
  }
  const buffer = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < packets.length; i++) offset = writePacket(buffer, offset, magic, packets[i]![0], packets[i]![1], sizes[i]!);
  return buffer;
}

/** Split a packet body into its arguments, according to the packet type. */
export function splitArguments(type: number, body: Buffer): Buffer[] {
  const expected = argumentCount(type);
  if (expected === undefined) throw new ProtocolError(`unknown packet type ${type}`);
  if (expected === 0) {
    if (body.length !== 0) throw new ProtocolError(`${packetTypeName(type)} carries no arguments but has ${body.length} bytes`);
    return [];
  }
  const args: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < expected - 1; i++) {
    const nul = body.indexOf(0, start);
    if (nul === -1) throw new ProtocolError(`${packetTypeName(type)} has ${i + 1} of ${expected} arguments`);
    args.push(body.subarray(start, nul));
    start = nul + 1;
  }
  args.push(body.subarray(start));
  return args;
}

/** A packet over the size cap, skipped: its type, its size and the first bytes of its body. */
export interface OversizedPacket {
  readonly magic: Magic;
  readonly type: number;
  readonly size: number;
  /** Up to OVERSIZED_HEAD_BYTES of the body: enough for a JOB_ASSIGN's handle, function and unique key. */
  readonly head: Buffer;
}

export const OVERSIZED_HEAD_BYTES = 64 * 1024;

/**
 * Incremental decoder: feed it socket chunks in any split or merge, it calls `onPacket` per whole packet.
 * Throws ProtocolError on a bad magic or an unknown type. A packet larger than `maxPacketBytes` is
 * skipped as it arrives (its body is never buffered, only its first bytes) and reported to
 * `onOversized`; without that callback it is a ProtocolError too.
 */
export class PacketDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private bodySize = -1; // -1: waiting for a header
  private magic: Magic = 'RES';
  private type = 0;
  /** Body bytes of an oversized packet still to discard, and what is kept of its start. */
  private skipRemaining = 0;
  private skipSize = 0;
  private skipHead: Buffer[] = [];
  private skipHeadBytes = 0;

  constructor(
    private readonly onPacket: (packet: Packet) => void,
    private readonly maxPacketBytes: number,
    private readonly onOversized?: (packet: OversizedPacket) => void,
  ) {}

  push(chunk: Buffer): void {
    // Fast path: nothing buffered, parse straight out of the chunk without copying.
    let buffer: Buffer;
    if (this.pendingBytes === 0) buffer = chunk;
    else {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.bodySize >= 0 && this.pendingBytes < this.bodySize) return; // still waiting for a large body
      if (this.bodySize < 0 && this.pendingBytes < HEADER_SIZE) return;
      buffer = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }

    let offset = 0;
    for (;;) {
      if (this.skipRemaining > 0) {
        const take = Math.min(this.skipRemaining, buffer.length - offset);
        this.keepHead(buffer.subarray(offset, offset + take));
        offset += take;
        this.skipRemaining -= take;
        if (this.skipRemaining > 0) break;
        this.finishSkip();
        continue;
      }
      if (this.bodySize < 0) {
        if (buffer.length - offset < HEADER_SIZE) break;
        this.readHeader(buffer, offset);
        offset += HEADER_SIZE;
        if (this.bodySize < 0) continue; // oversized: now skipping
      }
      if (buffer.length - offset < this.bodySize) break;
      const body = buffer.subarray(offset, offset + this.bodySize);
      offset += this.bodySize;
      this.bodySize = -1;
      this.onPacket({ magic: this.magic, type: this.type, args: splitArguments(this.type, body) });
    }
    if (offset < buffer.length) {
      const rest = buffer.subarray(offset);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
    }
  }

  private readHeader(buffer: Buffer, offset: number): void {
    const magic = buffer.readUInt32BE(offset);
    if (magic === MAGIC_RES) this.magic = 'RES';
    else if (magic === MAGIC_REQ) this.magic = 'REQ';
    else throw new ProtocolError(`bad packet magic 0x${magic.toString(16).padStart(8, '0')}`);
    this.type = buffer.readUInt32BE(offset + 4);
    if (argumentCount(this.type) === undefined) throw new ProtocolError(`unknown packet type ${this.type}`);
    const size = buffer.readUInt32BE(offset + 8);
    if (size > this.maxPacketBytes) {
      if (!this.onOversized) throw new ProtocolError(`${packetTypeName(this.type)} packet of ${size} bytes exceeds the ${this.maxPacketBytes}-byte limit`);
      this.skipRemaining = size;
      this.skipSize = size;
      this.bodySize = -1;
      return;
    }
    this.bodySize = size;
  }

  private keepHead(bytes: Buffer): void {
    if (this.skipHeadBytes >= OVERSIZED_HEAD_BYTES || bytes.length === 0) return;
    // A copy: the chunk itself must not stay referenced (it may be most of the packet).
    const kept = Buffer.from(bytes.subarray(0, OVERSIZED_HEAD_BYTES - this.skipHeadBytes));
    this.skipHead.push(kept);
    this.skipHeadBytes += kept.length;
  }

  private finishSkip(): void {
    const head = Buffer.concat(this.skipHead, this.skipHeadBytes);
    this.skipHead = [];
    this.skipHeadBytes = 0;
    this.onOversized?.({ magic: this.magic, type: this.type, size: this.skipSize, head });
  }

  /** Bytes received that do not yet form a whole packet. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }
}
