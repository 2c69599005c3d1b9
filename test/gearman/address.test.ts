import { describe, expect, it } from 'vitest';
import { formatAddress, parseAddress, parseAddressList } from '../../src/gearman/address.js';

describe('server addresses', () => {
  it('defaults the port to 4730', () => {
    expect(parseAddress('gearman.local')).toEqual({ host: 'gearman.local', port: 4730 });
    expect(parseAddress(' 127.0.0.1:4731 ')).toEqual({ host: '127.0.0.1', port: 4731 });
  });

  it('reads bracketed IPv6, with and without a port', () => {
    expect(parseAddress('[::1]:4730')).toEqual({ host: '::1', port: 4730 });
    expect(parseAddress('[::1]')).toEqual({ host: '::1', port: 4730 });
    expect(formatAddress({ host: '::1', port: 4730 })).toBe('[::1]:4730');
  });

  it('explains bad addresses', () => {
    expect(() => parseAddress('::1')).toThrow(/brackets/);
    expect(() => parseAddress('host:http')).toThrow(/not a number/);
    expect(() => parseAddress('host:70000')).toThrow(/out of range/);
    expect(() => parseAddress('[::1')).toThrow(/missing "\]"/);
    expect(() => parseAddress(':4730')).toThrow(/missing host/);
  });

  it("reads AtoM's comma-separated gearman_job_server list", () => {
    expect(parseAddressList('a:1, b ,[::1]:3')).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 4730 },
      { host: '::1', port: 3 },
    ]);
  });
});
