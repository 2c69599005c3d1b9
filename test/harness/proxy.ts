// A TCP proxy on loopback that can freeze: its open connections stop forwarding in both directions
// while both sockets stay open (no FIN, no RST), as a hung load balancer or a paused host does. New
// connections after a freeze are forwarded normally.
import net from 'node:net';

export interface FreezingProxy {
  readonly port: number;
  readonly address: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Stop forwarding on every open connection; keep the sockets open. */
  freeze(): void;
  close(): Promise<void>;
}

export async function startFreezingProxy(target: { host: string; port: number }): Promise<FreezingProxy> {
  const pairs: Array<{ client: net.Socket; upstream: net.Socket; frozen: boolean }> = [];
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(target.port, target.host);
    const pair = { client, upstream, frozen: false };
    pairs.push(pair);
    // Frozen: read and drop, so that neither side sees an error or a close.
    client.on('data', (chunk) => {
      if (!pair.frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!pair.frozen) client.write(chunk);
    });
    const end = (): void => {
      if (pair.frozen) return;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    freeze() {
      for (const pair of pairs) pair.frozen = true;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
