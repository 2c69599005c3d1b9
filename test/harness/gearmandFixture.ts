// One gearmand and one client for a test file: started before its tests, stopped after them.
import { afterAll, beforeAll } from 'vitest';
import { GearmanClient } from '../../src/gearman/client.js';
import { type Gearmand, startGearmand } from './gearmand.js';

export interface GearmandFixture {
  readonly gearmand: Gearmand;
  readonly client: GearmanClient;
}

/** Call at the top of a file or describe block; read the fields inside the tests. */
export function useGearmand(): GearmandFixture {
  let gearmand: Gearmand | undefined;
  let client: GearmanClient | undefined;
  beforeAll(async () => {
    gearmand = await startGearmand();
    client = new GearmanClient([{ host: gearmand.host, port: gearmand.port }]);
  });
  afterAll(async () => {
    client?.close();
    await gearmand?.stop();
  });
  return {
    get gearmand() {
      if (!gearmand) throw new Error('gearmand is not started yet (use the fixture inside a test)');
      return gearmand;
    },
    get client() {
      if (!client) throw new Error('gearmand is not started yet (use the fixture inside a test)');
      return client;
    },
  };
}
