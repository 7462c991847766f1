import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl } from '../../../../test/support/services.js';
import { FakeClock, FakeIssuer, ISSUER } from '../../test/fake-issuer.js';
import { OpenCaeClient } from '../client.js';
import type { TokenStore } from '../token-store.js';
import { FileTokenStore } from './file-store.js';
import { MemoryTokenStore } from './memory-store.js';
import { type RedisCommands, RedisTokenStore } from './redis-store.js';

/** The contract every store meets. */
function storeContract(name: string, make: () => Promise<TokenStore>) {
  describe(`${name}: TokenStore contract`, () => {
    it('gets what was set, and nothing for an unknown key', async () => {
      const store = await make();
      await store.set('k1', 'v1', 60_000);
      expect(await store.get('k1')).toBe('v1');
      expect(await store.get('unknown')).toBeUndefined();
    });

    it('overwrites and deletes', async () => {
      const store = await make();
      await store.set('k|with spaces/and:colons', 'a', 60_000);
      await store.set('k|with spaces/and:colons', 'b', 60_000);
      expect(await store.get('k|with spaces/and:colons')).toBe('b');
      await store.delete('k|with spaces/and:colons');
      expect(await store.get('k|with spaces/and:colons')).toBeUndefined();
      await store.delete('never-set');
    });

    it('forgets an entry after its time to live', async () => {
      const store = await make();
      await store.set('short', 'v', 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await store.get('short')).toBeUndefined();
    });

    it('shares tokens between two clients (a restart, or a second replica)', async () => {
      const store = await make();
      const clock = new FakeClock(Date.now());
      const issuer = new FakeIssuer(clock);
      const options = {
        issuer: ISSUER,
        clientId: 'd',
        clientSecret: 's',
        scopes: 'x',
        fetch: issuer.fetch,
        clock,
        store,
      };
      const first = await new OpenCaeClient(options).getAccessToken();
      const second = await new OpenCaeClient(options).getAccessToken();
      expect(second).toEqual(first);
      expect(issuer.tokenRequests).toHaveLength(1);
    });
  });
}

storeContract('memory', async () => new MemoryTokenStore());

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'opencae-client-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});
let storeCount = 0;
storeContract(
  'file',
  async () => new FileTokenStore({ directory: join(directory, `store-${++storeCount}`) }),
);

describe('file store', () => {
  it('creates the directory 0700 and files 0600, leaving no temporary files', async () => {
    const dir = join(directory, 'modes', 'nested');
    const store = new FileTokenStore({ directory: dir });
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.set('same-key', `value-${i}`, 60_000)));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect((await stat(join(dir, files[0]!))).mode & 0o777).toBe(0o600);
    expect(await store.get('same-key')).toMatch(/^value-\d+$/);
  });

  it('does not put keys in file names', async () => {
    const dir = join(directory, 'names');
    await new FileTokenStore({ directory: dir }).set('at|https://issuer/|client', 'v', 60_000);
    const [file] = await readdir(dir);
    expect(file).toMatch(/^[A-Za-z0-9_-]{43}\.json$/);
  });

  it('treats a corrupt or foreign file as a miss', async () => {
    const dir = join(directory, 'corrupt');
    const store = new FileTokenStore({ directory: dir });
    await store.set('k', 'v', 60_000);
    const [file] = await readdir(dir);
    await writeFile(join(dir, file!), '{ half a tok');
    expect(await store.get('k')).toBeUndefined();
    await writeFile(
      join(dir, file!),
      JSON.stringify({ key: 'other', value: 'x', expiresAt: Date.now() + 1e6 }),
    );
    expect(await store.get('k')).toBeUndefined();
    await store.set('k', 'again', 60_000);
    expect(JSON.parse(await readFile(join(dir, file!), 'utf8')).value).toBe('again');
  });
});

const redis = await redisUrl();
describe.skipIf(!redis)('redis store', () => {
  let connection: Redis;
  const prefix = `opencae-test:${randomBytes(6).toString('hex')}:`;
  beforeAll(() => {
    connection = new Redis(redis!, { lazyConnect: false, maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    const keys = await connection.keys(`${prefix}*`);
    if (keys.length) await connection.del(...keys);
    await connection.quit();
  });
  // An ioredis client satisfies the structural interface (checked by the compiler here).
  const commands = (): RedisCommands => connection;
  storeContract('redis', async () => new RedisTokenStore({ redis: commands(), keyPrefix: prefix }));

  it('writes under the prefix with a Redis TTL', async () => {
    const store = new RedisTokenStore({ redis: connection, keyPrefix: prefix });
    await store.set('ttl', 'v', 60_000);
    const ttl = await connection.pttl(`${prefix}ttl`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});
