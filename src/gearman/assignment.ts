// A job as the server assigns it to a worker: JOB_ASSIGN_UNIQ's handle, function, unique key and
// payload, read from a whole packet or, for one over the size cap, from the head read of it.
import type { OversizedPacket, Packet } from './codec.js';
import { PacketType } from './packets.js';

/** A job as assigned by the server. `payload` is a view into the received bytes. */
export interface AssignedJob {
  readonly handle: string;
  readonly functionName: string;
  readonly unique: string;
  readonly payload: Buffer;
  /** Set when the packet was over the cap and skipped unread: the payload's size; `payload` is then empty. */
  readonly oversizedBytes?: number;
}

/** The job in a JOB_ASSIGN_UNIQ packet. */
export function assignedJob(packet: Packet): AssignedJob {
  const [handle, fn, unique, payload] = packet.args as [Buffer, Buffer, Buffer, Buffer];
  return {
    handle: handle.toString('latin1'),
    functionName: fn.toString(),
    unique: unique.toString(),
    payload,
  };
}

/**
 * The job in a JOB_ASSIGN_UNIQ skipped for its size, with no payload; undefined when the packet is
 * of another type or its head does not hold the handle, function and unique key.
 */
export function oversizedAssignment(packet: OversizedPacket): AssignedJob | undefined {
  const head = packet.head;
  const firstNul = head.indexOf(0);
  const secondNul = firstNul === -1 ? -1 : head.indexOf(0, firstNul + 1);
  const thirdNul = secondNul === -1 ? -1 : head.indexOf(0, secondNul + 1);
  if (packet.type !== PacketType.JOB_ASSIGN_UNIQ || thirdNul === -1) return undefined;
  return {
    handle: head.subarray(0, firstNul).toString('latin1'),
    functionName: head.subarray(firstNul + 1, secondNul).toString(),
    unique: head.subarray(secondNul + 1, thirdNul).toString(),
    payload: Buffer.alloc(0),
    oversizedBytes: packet.size - (thirdNul + 1),
  };
}
