import { describe, expect, it } from 'vitest';
import type { AccessTokenClaims } from '../auth/access-token-verifier.js';
import { AccessTokenIntrospector } from './access-token-introspection.js';
import type { ApplicationState, DirectoryReader, UserState } from './directory-reader.js';

const NOW = Math.floor(Date.now() / 1000);

function application(clientId: string, spId: string, grantedOn: string[] = []): ApplicationState {
  return {
    applicationId: `app-${clientId}`,
    clientId,
    name: clientId,
    redirectUris: [],
    grantTypes: ['client_credentials'],
    tokenEndpointAuthMethod: 'client_secret_basic',
    jwks: null,
    servicePrincipal: {
      id: spId,
      enabled: true,
      deletedAt: null,
      riskLevel: 'none',
      credentialsChangedAt: null,
      sessionsRevokedAt: null,
    },
    secrets: [],
    grantedOn,
  } as ApplicationState & { grantedOn: string[] };
}

function fakeDirectory(apps: ApplicationState[], users: UserState[] = []): DirectoryReader {
  const byClient = new Map(apps.map((app) => [app.clientId, app]));
  return {
    applicationByClientId: async (clientId: string) => byClient.get(clientId),
    userById: async (id: string) => users.find((user) => user.id === id),
    apiWithGrant: async (audience: string, applicationId: string) => {
      const app = apps.find((candidate) => candidate.applicationId === applicationId) as
        | (ApplicationState & { grantedOn: string[] })
        | undefined;
      const api = { id: audience, audience, caeEnabled: true, scopes: [], appRoles: ['R'] };
      return { api, grant: app?.grantedOn.includes(audience) ? { scopes: [], roles: ['R'] } : undefined };
    },
  } as unknown as DirectoryReader;
}

/** A verifier that accepts any token whose payload it is given (signature checks are tested over HTTP). */
function acceptingVerifier(claims: AccessTokenClaims) {
  return { verify: async () => claims };
}

/** An unsigned compact JWT carrying `payload` (only its `aud` is read before verification). */
function jwtWith(payload: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'at+jwt' })}.${part(payload)}.c2ln`;
}

const resourceServer = application('orders-api', 'sp-rs', ['api://orders']);
const daemon = application('daemon', 'sp-daemon', ['api://orders']);
const appClaims: AccessTokenClaims = {
  iss: 'https://issuer.test',
  aud: 'api://orders',
  sub: 'sp-daemon',
  azp: 'daemon',
  idtyp: 'app',
  iat: NOW,
  exp: NOW + 3600,
  roles: ['R'],
};
const caller = { clientId: 'orders-api', authMethod: 'client_secret_basic' };

describe('AccessTokenIntrospector', () => {
  it('answers active with the claims, client_id and token_type for an allowed caller', async () => {
    const introspector = new AccessTokenIntrospector(
      fakeDirectory([resourceServer, daemon]),
      acceptingVerifier(appClaims),
    );
    expect(await introspector.introspect(jwtWith(appClaims), caller)).toEqual({
      ...appClaims,
      active: true,
      client_id: 'daemon',
      token_type: 'Bearer',
    });
  });

  it('answers inactive to a public client, whatever it is granted', async () => {
    const introspector = new AccessTokenIntrospector(
      fakeDirectory([resourceServer, daemon]),
      acceptingVerifier(appClaims),
    );
    expect(await introspector.introspect(jwtWith(appClaims), { ...caller, authMethod: 'none' })).toEqual({
      active: false,
    });
  });

  it('answers inactive for several audiences or none', async () => {
    const introspector = new AccessTokenIntrospector(
      fakeDirectory([resourceServer, daemon]),
      acceptingVerifier(appClaims),
    );
    const twoAudiences = { ...appClaims, aud: ['api://orders', 'api://billing'] };
    expect(await introspector.introspect(jwtWith(twoAudiences), caller)).toEqual({ active: false });
    expect(await introspector.introspect(jwtWith({ ...appClaims, aud: undefined }), caller)).toEqual({
      active: false,
    });
  });

  it('answers inactive when the app token no longer names the application service principal', async () => {
    const replaced = application('daemon', 'sp-recreated', ['api://orders']);
    const introspector = new AccessTokenIntrospector(
      fakeDirectory([resourceServer, replaced]),
      acceptingVerifier(appClaims),
    );
    expect(await introspector.introspect(jwtWith(appClaims), caller)).toEqual({ active: false });
  });

  it('answers inactive for a token of no known identity type', async () => {
    const claims = { ...appClaims, idtyp: undefined };
    const introspector = new AccessTokenIntrospector(
      fakeDirectory([resourceServer, daemon]),
      acceptingVerifier(claims),
    );
    expect(await introspector.introspect(jwtWith(claims), caller)).toEqual({ active: false });
  });

  it('answers inactive when verification fails', async () => {
    const introspector = new AccessTokenIntrospector(fakeDirectory([resourceServer, daemon]), {
      verify: async () => {
        throw new Error('bad signature');
      },
    });
    expect(await introspector.introspect(jwtWith(appClaims), caller)).toEqual({ active: false });
  });
});
