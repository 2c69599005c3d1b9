// Minimal typing of the parts of unix-dgram (a small native addon) that atom-worker uses.
declare module 'unix-dgram' {
  import type { EventEmitter } from 'node:events';
  export interface UnixDgramSocket extends EventEmitter {
    bind(path: string): void;
    connect(path: string): void;
    send(buffer: Buffer, offset: number, length: number, path: string, callback?: (error?: Error) => void): void;
    close(): void;
  }
  export function createSocket(type: 'unix_dgram', listener?: (message: Buffer, info: { size: number; path?: string }) => void): UnixDgramSocket;
}
