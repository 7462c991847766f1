import type { z } from 'zod';
import { maxTokenLifetimeSeconds } from '../../config.js';
import { listSigningKeys, rotateSigningKeyAudited } from '../../keys/signing-key-rotation.js';
import { type AdminRoute, route } from '../route.js';
import * as s from '../schemas.js';

const tag = 'Signing keys';

export const signingKeyRoutes: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/signing-keys',
    operationId: 'listSigningKeys',
    summary: 'List the token signing keys: the active one first (public facts only, no key material)',
    tag,
    response: s.signingKeyList,
    handler: async ({ keys }) => ({ items: await listSigningKeys(keys) }),
  }),
  route<undefined, z.infer<typeof s.rotateSigningKeyBody>>({
    method: 'POST',
    path: '/signing-keys/rotate',
    operationId: 'rotateSigningKey',
    summary:
      'Rotate the signing key: the pre-published next key signs from now on, a new next key is published, and the previous key stays in the JWKS until the tokens it signed have expired. 409 if the next key was published less than 5 minutes ago, unless force',
    tag,
    body: s.rotateSigningKeyBody,
    response: s.signingKeyRotation,
    handler: async ({ body, directory, keys, config }) => {
      // CAE tokens live up to 28 h by default: the retired key must outlive the longest of them.
      const outcome = await rotateSigningKeyAudited(directory, keys, {
        publishForSeconds: maxTokenLifetimeSeconds(config),
        reason: body?.reason,
        force: body?.force,
      });
      const { active, retired } = outcome.result;
      return {
        active_kid: active.kid,
        next_kid: outcome.result.next.kid,
        retired_kid: retired?.kid ?? null,
        retired_published_until: retired?.published_until ?? null,
        txn: outcome.txn,
      };
    },
  }),
];
