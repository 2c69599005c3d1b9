// Gearman binary protocol constants: packet types and how many NUL-separated arguments each carries.
// Source of truth: the protocol document at gearman.org and gearmand's PROTOCOL file.

export const PacketType = {
  CAN_DO: 1,
  CANT_DO: 2,
  RESET_ABILITIES: 3,
  PRE_SLEEP: 4,
  NOOP: 6,
  SUBMIT_JOB: 7,
  JOB_CREATED: 8,
  GRAB_JOB: 9,
  NO_JOB: 10,
  JOB_ASSIGN: 11,
  WORK_STATUS: 12,
  WORK_COMPLETE: 13,
  WORK_FAIL: 14,
  GET_STATUS: 15,
  ECHO_REQ: 16,
  ECHO_RES: 17,
  SUBMIT_JOB_BG: 18,
  ERROR: 19,
  STATUS_RES: 20,
  SUBMIT_JOB_HIGH: 21,
  SET_CLIENT_ID: 22,
  CAN_DO_TIMEOUT: 23,
  ALL_YOURS: 24,
  WORK_EXCEPTION: 25,
  OPTION_REQ: 26,
  OPTION_RES: 27,
  WORK_DATA: 28,
  WORK_WARNING: 29,
  GRAB_JOB_UNIQ: 30,
  JOB_ASSIGN_UNIQ: 31,
  SUBMIT_JOB_HIGH_BG: 32,
  SUBMIT_JOB_LOW: 33,
  SUBMIT_JOB_LOW_BG: 34,
  SUBMIT_JOB_SCHED: 35,
  SUBMIT_JOB_EPOCH: 36,
  GRAB_JOB_ALL: 39,
  JOB_ASSIGN_ALL: 40,
  GET_STATUS_UNIQUE: 41,
  STATUS_RES_UNIQUE: 42,
} as const;

export type PacketTypeNumber = (typeof PacketType)[keyof typeof PacketType];

const names = new Map<number, string>(Object.entries(PacketType).map(([name, value]) => [value, name]));

export function packetTypeName(type: number): string {
  return names.get(type) ?? `UNKNOWN(${type})`;
}

/** Number of arguments per packet type; the last argument is raw data and may contain NUL bytes. */
const argumentCounts: ReadonlyMap<number, number> = new Map<number, number>([
  [PacketType.CAN_DO, 1],
  [PacketType.CANT_DO, 1],
  [PacketType.RESET_ABILITIES, 0],
  [PacketType.PRE_SLEEP, 0],
  [PacketType.NOOP, 0],
  [PacketType.SUBMIT_JOB, 3],
  [PacketType.JOB_CREATED, 1],
  [PacketType.GRAB_JOB, 0],
  [PacketType.NO_JOB, 0],
  [PacketType.JOB_ASSIGN, 3],
  [PacketType.WORK_STATUS, 3],
  [PacketType.WORK_COMPLETE, 2],
  [PacketType.WORK_FAIL, 1],
  [PacketType.GET_STATUS, 1],
  [PacketType.ECHO_REQ, 1],
  [PacketType.ECHO_RES, 1],
  [PacketType.SUBMIT_JOB_BG, 3],
  [PacketType.ERROR, 2],
  [PacketType.STATUS_RES, 5],
  [PacketType.SUBMIT_JOB_HIGH, 3],
  [PacketType.SET_CLIENT_ID, 1],
  [PacketType.CAN_DO_TIMEOUT, 2],
  [PacketType.ALL_YOURS, 0],
  [PacketType.WORK_EXCEPTION, 2],
  [PacketType.OPTION_REQ, 1],
  [PacketType.OPTION_RES, 1],
  [PacketType.WORK_DATA, 2],
  [PacketType.WORK_WARNING, 2],
  [PacketType.GRAB_JOB_UNIQ, 0],
  [PacketType.JOB_ASSIGN_UNIQ, 4],
  [PacketType.SUBMIT_JOB_HIGH_BG, 3],
  [PacketType.SUBMIT_JOB_LOW, 3],
  [PacketType.SUBMIT_JOB_LOW_BG, 3],
  [PacketType.SUBMIT_JOB_SCHED, 8],
  [PacketType.SUBMIT_JOB_EPOCH, 4],
  [PacketType.GRAB_JOB_ALL, 0],
  [PacketType.JOB_ASSIGN_ALL, 5],
  [PacketType.GET_STATUS_UNIQUE, 1],
  [PacketType.STATUS_RES_UNIQUE, 6],
]);

export function argumentCount(type: number): number | undefined {
  return argumentCounts.get(type);
}
