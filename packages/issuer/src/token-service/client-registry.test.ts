/**
 * installClientReuse: one oidc-provider Client per directory snapshot of an application, the
 * provider's own lookup for everything else.
 */
import type { Provider } from 'oidc-provider';
import { describe, expect, it } from 'vitest';
import { installClientReuse } from './client-registry.js';
import type { ApplicationState, DirectoryReader } from './directory-reader.js';

function setUp() {
  const snapshots = new Map<string, ApplicationState>();
  const lookups: unknown[] = [];
  const Client = {
    async find(id: unknown) {
      lookups.push(id);
      return typeof id === 'string' && snapshots.has(id)
        ? { clientId: id, built: lookups.length }
        : undefined;
    },
  };
  const directory = {
    applicationByClientId: async (id: string) => snapshots.get(id),
  } as unknown as DirectoryReader;
  installClientReuse({ Client } as unknown as Pick<Provider, 'Client'>, directory);
  const snapshot = (clientId: string) => {
    const state = { clientId } as unknown as ApplicationState;
    snapshots.set(clientId, state);
  };
  return { Client, lookups, snapshot };
}

describe('installClientReuse', () => {
  it('builds the client once per snapshot of the application', async () => {
    const { Client, lookups, snapshot } = setUp();
    snapshot('app-1');
    const first = await Client.find('app-1');
    expect(await Client.find('app-1')).toBe(first);
    expect(lookups).toEqual(['app-1']);

    // The application changed: the directory hands out a new snapshot, and the client is built again.
    snapshot('app-1');
    const second = await Client.find('app-1');
    expect(second).not.toBe(first);
    expect(second).toMatchObject({ clientId: 'app-1' });
    expect(lookups).toEqual(['app-1', 'app-1']);
  });

  it('leaves unknown and malformed client ids to the provider, every time', async () => {
    const { Client, lookups } = setUp();
    expect(await Client.find('nobody')).toBeUndefined();
    expect(await Client.find('nobody')).toBeUndefined();
    expect(await Client.find('')).toBeUndefined();
    expect(await Client.find('x'.repeat(300))).toBeUndefined();
    expect(lookups).toEqual(['nobody', 'nobody', '', 'x'.repeat(300)]);
  });
});
