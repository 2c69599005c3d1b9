import { describe, expect, it } from 'vitest';
import { encodePacket, type OversizedPacket, type Packet, PacketDecoder, ProtocolError, splitArguments } from '../../src/gearman/codec.js';
import { PacketType } from '../../src/gearman/packets.js';

function decodeAll(chunks: Buffer[], max = 1024 * 1024): Packet[] {
  const packets: Packet[] = [];
  const decoder = new PacketDecoder((packet) => packets.push(packet), max);
  for (const chunk of chunks) decoder.push(chunk);
  return packets;
}

const text = (packet: Packet): string[] => packet.args.map((arg) => arg.toString('latin1'));

describe('encodePacket', () => {
  it('writes the magic, big-endian type and size, and NUL-separated arguments', () => {
    const packet = encodePacket('REQ', PacketType.CAN_DO_TIMEOUT, ['resize', '1500']);
    expect(packet.subarray(0, 4)).toEqual(Buffer.from('\0REQ', 'latin1'));
    expect(packet.readUInt32BE(4)).toBe(23);
    expect(packet.readUInt32BE(8)).toBe('resize\u00001500'.length);
    expect(packet.subarray(12).toString('latin1')).toBe('resize\u00001500');
  });

  it('writes packets without arguments as a bare header', () => {
    const packet = encodePacket('REQ', PacketType.GRAB_JOB_UNIQ);
    expect(packet.length).toBe(12);
    expect(packet.readUInt32BE(8)).toBe(0);
  });

  it('counts multi-byte UTF-8 by bytes, not characters', () => {
    const packet = encodePacket('RES', PacketType.WORK_COMPLETE, ['H:1', 'Ünïcødé ✓']);
    expect(packet.readUInt32BE(8)).toBe(3 + 1 + Buffer.byteLength('Ünïcødé ✓'));
    expect(decodeAll([packet])[0]!.args[1]!.toString('utf8')).toBe('Ünïcødé ✓');
  });
});

describe('PacketDecoder', () => {
  const assign = encodePacket('RES', PacketType.JOB_ASSIGN_UNIQ, ['H:host:1', 'resize', 'u-1', Buffer.from([1, 0, 2, 0, 0, 3])]);
  const noop = encodePacket('RES', PacketType.NOOP);
  const noJob = encodePacket('RES', PacketType.NO_JOB);

  it('keeps NUL bytes inside the last argument', () => {
    const [packet] = decodeAll([assign]);
    expect(packet!.type).toBe(PacketType.JOB_ASSIGN_UNIQ);
    expect(text(packet!).slice(0, 3)).toEqual(['H:host:1', 'resize', 'u-1']);
    expect([...packet!.args[3]!]).toEqual([1, 0, 2, 0, 0, 3]);
  });

  it('decodes the same packets whatever way the stream is split', () => {
    const stream = Buffer.concat([noop, assign, noJob, assign]);
    const expected = decodeAll([stream]).map((packet) => [packet.type, text(packet)]);
    expect(expected.map(([type]) => type)).toEqual([6, 31, 10, 31]);
    for (let size = 1; size <= 13; size++) {
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < stream.length; offset += size) chunks.push(stream.subarray(offset, offset + size));
      expect(decodeAll(chunks).map((packet) => [packet.type, text(packet)])).toEqual(expected);
    }
    // Split exactly inside the header, and inside the body.
    expect(decodeAll([stream.subarray(0, 17), stream.subarray(17, 30), stream.subarray(30)]).length).toBe(4);
  });

  it('decodes several packets merged into one chunk', () => {
    const packets = decodeAll([Buffer.concat([noop, noop, noJob])]);
    expect(packets.map((packet) => packet.type)).toEqual([6, 6, 10]);
  });

  it('reports REQ and RES magic', () => {
    const packets = decodeAll([encodePacket('REQ', PacketType.GRAB_JOB_UNIQ), noop]);
    expect(packets.map((packet) => packet.magic)).toEqual(['REQ', 'RES']);
  });

  it('refuses a packet larger than the limit before buffering its body', () => {
    const big = encodePacket('RES', PacketType.WORK_COMPLETE, ['H:1', Buffer.alloc(5000)]);
    const decoder = new PacketDecoder(() => {}, 4096);
    expect(() => decoder.push(big.subarray(0, 12))).toThrow(ProtocolError);
    expect(() => decodeAll([big], 4096)).toThrow(/exceeds the 4096-byte limit/);
  });

  it('assembles a large body from many chunks', () => {
    const payload = Buffer.alloc(3 * 1024 * 1024, 7);
    const packet = encodePacket('RES', PacketType.JOB_ASSIGN_UNIQ, ['H:1', 'f', 'u', payload]);
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < packet.length; offset += 65536) chunks.push(packet.subarray(offset, offset + 65536));
    const [decoded] = decodeAll(chunks, 4 * 1024 * 1024);
    expect(decoded!.args[3]!.equals(payload)).toBe(true);
  });

  it('refuses garbage: bad magic and unknown types', () => {
    expect(() => decodeAll([Buffer.from('HTTP/1.1 200 OK\r\n\r\n')])).toThrow(/bad packet magic/);
    const unknown = Buffer.from(noop);
    unknown.writeUInt32BE(9999, 4);
    expect(() => decodeAll([unknown])).toThrow(/unknown packet type 9999/);
  });

  it('refuses a packet with too few arguments', () => {
    const broken = encodePacket('RES', PacketType.JOB_ASSIGN_UNIQ, ['H:1-no-separators']);
    expect(() => decodeAll([broken])).toThrow(/has 1 of 4 arguments/);
  });

  it('refuses a body on a packet type that takes none', () => {
    expect(() => splitArguments(PacketType.NOOP, Buffer.from('x'))).toThrow(/carries no arguments/);
  });
});

describe('PacketDecoder, over-cap packets with an onOversized handler', () => {
  it('skips the body as it arrives, keeps only its head, reports it, and decodes what follows', () => {
    const packets: Packet[] = [];
    const oversized: OversizedPacket[] = [];
    const decoder = new PacketDecoder((packet) => packets.push(packet), 1000, (packet) => oversized.push(packet));
    const payload = Buffer.alloc(200_000, 0x62);
    const huge = encodePacket('RES', PacketType.JOB_ASSIGN_UNIQ, ['H:x:1', 'fn', 'uniq', payload]);
    const after = encodePacket('RES', PacketType.NOOP, []);
    const stream = Buffer.concat([huge, after]);
    let maxBuffered = 0;
    for (let offset = 0; offset < stream.length; offset += 7001) {
      decoder.push(stream.subarray(offset, offset + 7001));
      maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes);
    }
    expect(oversized).toHaveLength(1);
    expect(oversized[0]!.size).toBe(huge.length - 12);
    expect(oversized[0]!.head.length).toBe(64 * 1024);
    expect(splitArguments(PacketType.JOB_ASSIGN_UNIQ, oversized[0]!.head).slice(0, 3).map((arg) => arg.toString())).toEqual(['H:x:1', 'fn', 'uniq']);
    expect(packets.map((packet) => packet.type)).toEqual([PacketType.NOOP]);
    // Nothing of the skipped body is held as pending input.
    expect(maxBuffered).toBeLessThan(12);
  });
});

