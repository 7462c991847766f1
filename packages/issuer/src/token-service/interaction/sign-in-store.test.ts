/**
 * The pending TOTP secret of an enrollment is encrypted at rest, as an enrolled one is; a state
 * sealed with a key no longer in the ring restarts the sign-in instead of failing it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testSecretsKey } from '../../../test/support/secrets-keys.js';
import { parseSecretKeyRing, SecretBox } from '../../crypto/secret-box.js';
import { openStorage, type Storage } from '../../storage/database.js';
import { type SignInState, SignInStore } from './sign-in-store.js';

const ring = (...ids: string[]) => new SecretBox(parseSecretKeyRing(ids.map(testSecretsKey).join(',')));
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const enrolling: SignInState = {
  csrf: 'csrf-token',
  userId: 'u1',
  stage: 'enroll',
  pendingSecret: SECRET,
  failures: 0,
};

describe('SignInStore', () => {
  let storage: Storage;

  beforeAll(async () => {
    storage = await openStorage({ dataDir: 'memory://' });
  });
  afterAll(async () => {
    await storage.close();
  });

  const storedPayload = async (uid: string) => {
    const row = await storage.db
      .selectFrom('oidc_models')
      .select('payload')
      .where('model', '=', 'OpenCaeSignIn')
      .where('id', '=', uid)
      .executeTakeFirstOrThrow();
    return JSON.stringify(row.payload);
  };

  it('stores the pending TOTP secret encrypted and reads it back', async () => {
    const store = new SignInStore(storage.db, ring('a'));
    await store.put('enc-1', enrolling);
    const payload = await storedPayload('enc-1');
    expect(payload).not.toContain(SECRET);
    expect(payload).toContain('enc:v1:a:');
    expect(await store.get('enc-1')).toEqual(enrolling);
    // A state without a pending secret is stored as it is.
    await store.put('enc-2', { csrf: 'c', stage: 'password', failures: 1 });
    expect(await store.get('enc-2')).toEqual({ csrf: 'c', stage: 'password', failures: 1 });
  });

  it('reads a secret sealed with an older key of the ring', async () => {
    await new SignInStore(storage.db, ring('a')).put('rotated', enrolling);
    expect(await new SignInStore(storage.db, ring('b', 'a')).get('rotated')).toEqual(enrolling);
  });

  it('restarts the sign-in when the key that sealed the secret has left the ring', async () => {
    await new SignInStore(storage.db, ring('a')).put('retired', enrolling);
    expect(await new SignInStore(storage.db, ring('b')).get('retired')).toBeUndefined();
  });

  it('without a secrets key keeps the secret as it is', async () => {
    const store = new SignInStore(storage.db, SecretBox.plaintext());
    await store.put('plain', enrolling);
    expect(await storedPayload('plain')).toContain(SECRET);
    expect(await store.get('plain')).toEqual(enrolling);
  });
});
