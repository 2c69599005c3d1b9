// The client against real job servers: servers chosen by hashing the unique key, failover when one is down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverStatus } from '../../src/gearman/admin.js';
import { GearmanClient } from '../../src/gearman/client.js';
import { ClientError } from '../../src/gearman/clientTypes.js';
import { freeLowPort, type Gearmand, startGearmand } from '../harness/gearmand.js';

describe('GearmanClient server choice', () => {
  let first: Gearmand;
  let second: Gearmand;
  beforeAll(async () => {
    [first, second] = await Promise.all([startGearmand(), startGearmand()]);
  });
  afterAll(async () => {
    await Promise.all([first.stop(), second.stop()]);
  });

  const addresses = () => [first, second].map((g) => ({ host: '127.0.0.1', port: g.port }));

  it('spreads jobs over the servers by unique key, the same key always to the same server', async () => {
    const client = new GearmanClient(addresses());
    const servers = new Map<string, string>();
    for (let i = 0; i < 40; i++) servers.set(`key-${i}`, (await client.submitBackground('spread', 'x', { unique: `key-${i}` })).server);
    for (let i = 0; i < 40; i += 7) expect((await client.submitBackground('spread', 'x', { unique: `key-${i}` })).server).toBe(servers.get(`key-${i}`));
    client.close();
    const used = new Set(servers.values());
    expect(used).toEqual(new Set([first.address, second.address]));
    const queued = await Promise.all([first, second].map(async (g) => (await serverStatus({ host: '127.0.0.1', port: g.port })).find((s) => s.function === 'spread')?.queued ?? 0));
    // gearmand coalesces background jobs with the same unique key: 40 distinct keys in all.
    expect(queued[0]! + queued[1]!).toBe(40);
  });

  it('fails over to the next server when the chosen one is down', async () => {
    const dead = { host: '127.0.0.1', port: await freeLowPort() };
    const client = new GearmanClient([dead, { host: '127.0.0.1', port: first.port }]);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => client.submitBackground('failover', 'x', { unique: `f-${i}` })));
    client.close();
    expect(new Set(results.map((result) => result.server))).toEqual(new Set([first.address]));
  });

  it('says which servers it tried when none accepts the job', async () => {
    const client = new GearmanClient([{ host: '127.0.0.1', port: await freeLowPort() }]);
    await expect(client.submitBackground('nowhere', 'x')).rejects.toThrow(ClientError);
    await expect(client.submitBackground('nowhere', 'x')).rejects.toThrow(/no job server accepted the job \(127\.0\.0\.1:\d+: /);
    client.close();
  });
});
