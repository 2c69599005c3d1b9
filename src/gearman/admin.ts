// gearmand's text admin protocol on the job port: `status`, `workers`, `version`.
import net from 'node:net';
import { formatAddress, type ServerAddress } from './address.js';

export interface FunctionStatus {
  readonly function: string;
  readonly queued: number;
  readonly running: number;
  readonly availableWorkers: number;
}

export interface WorkerInfo {
  readonly fd: string;
  readonly ip: string;
  readonly clientId: string;
  readonly functions: readonly string[];
}

/** Send one admin command and read its reply: a single line for `version`, lines up to "." otherwise. */
export function adminCommand(address: ServerAddress, command: string, timeoutMs = 5000): Promise<string[]> {
  const singleLine = command === 'version' || command === 'getpid' || command.startsWith('maxqueue') || command === 'verbose';
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address.host, port: address.port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${formatAddress(address)}: no answer to "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (lines: string[]): void => {
      clearTimeout(timer);
      socket.end();
      resolve(lines);
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${command}\n`));
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (singleLine) {
        const newline = text.indexOf('\n');
        if (newline !== -1) finish([text.slice(0, newline).replace(/\r$/, '')]);
        return;
      }
      if (text === '.\n' || text.endsWith('\n.\n')) {
        finish(text.slice(0, -2).split('\n').filter((line) => line !== ''));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${formatAddress(address)}: ${error.message}`));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`${formatAddress(address)}: connection closed before the answer to "${command}"`));
    });
  });
}

export async function serverStatus(address: ServerAddress, timeoutMs?: number): Promise<FunctionStatus[]> {
  const lines = await adminCommand(address, 'status', timeoutMs);
  return lines.map((line) => {
    const [fn = '', queued = '0', running = '0', available = '0'] = line.split('\t');
    return { function: fn, queued: Number(queued), running: Number(running), availableWorkers: Number(available) };
  });
}

export async function serverWorkers(address: ServerAddress, timeoutMs?: number): Promise<WorkerInfo[]> {
  const lines = await adminCommand(address, 'workers', timeoutMs);
  return lines.map((line) => {
    const [head = '', tail = ''] = line.split(' : ');
    const [fd = '', ip = '', clientId = ''] = head.trim().split(' ');
    return { fd, ip, clientId, functions: tail.trim() === '' ? [] : tail.trim().split(' ') };
  });
}

export async function serverVersion(address: ServerAddress, timeoutMs?: number): Promise<string> {
  const [line = ''] = await adminCommand(address, 'version', timeoutMs);
  return line.replace(/^OK\s*/, '');
}
