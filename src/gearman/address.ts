// A job server address and its parsing from "host[:port]" / "[v6]:port" strings.

export const DEFAULT_PORT = 4730;

export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

/** Format for logs and keys: `host:port`, IPv6 hosts in brackets. */
export function formatAddress(address: ServerAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Parse `host`, `host:port`, `[::1]` or `[::1]:port`. Throws an Error with a readable reason. */
export function parseAddress(text: string): ServerAddress {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error('empty server address');
  let host: string;
  let portText: string | undefined;
  if (trimmed.startsWith('[')) {
    const close = trimmed.indexOf(']');
    if (close === -1) throw new Error(`"${trimmed}": missing "]" after IPv6 address`);
    host = trimmed.slice(1, close);
    const rest = trimmed.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new Error(`"${trimmed}": expected ":port" after "]"`);
      portText = rest.slice(1);
    }
  } else {
    const colons = trimmed.split(':').length - 1;
    if (colons > 1) throw new Error(`"${trimmed}": write IPv6 addresses in brackets, e.g. [::1]:4730`);
    const [h, p] = trimmed.split(':');
    host = h ?? '';
    portText = p;
  }
  if (host === '') throw new Error(`"${trimmed}": missing host`);
  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) throw new Error(`"${trimmed}": port "${portText}" is not a number`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw new Error(`"${trimmed}": port ${port} is out of range 1-65535`);
  }
  return { host, port };
}

/** Parse AtoM's documented `gearman_job_server` form: comma-separated addresses. */
export function parseAddressList(text: string): ServerAddress[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(parseAddress);
}
