/**
 * End to end with real, distinct client addresses (127.0.0.2 and 127.0.0.3 on the loopback network):
 * a real issuer (admin API + policy sync endpoint over HTTP), a real resource server (the resource
 * guard with the location enforcer), tokens carrying the claims the issuer's evaluation produces.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conditionalAccessFor, conditionalAccessModule, createIssuer, type Issuer } from '@opencae/issuer';
import { parseClaimsChallenge } from '@opencae/protocol';
import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResourceGuard, type ResourceGuard } from '../guard.js';
import { createLocationEnforcer } from './location-enforcer.js';
import { LocationPolicyClient } from './policy-client.js';

const ISSUER = 'http://issuer.test';
const API = 'https://api.example';
const ALICE = '70000000-0000-4000-8000-000000000001';

let issuer: Issuer;
let issuerBase: string;
let dataDir: string;
let resource: Server;
let resourcePort: number;
let guard: ResourceGuard;
let policies: LocationPolicyClient;

async function mint(claims: Record<string, unknown>, audience: string, lifetime = '1h'): Promise<string> {
  const key = (await issuer.context.keys.activeKey())!;
  return new SignJWT({ oid: ALICE, idtyp: 'user', azp: 'client-1', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setSubject(String(claims.oid ?? ALICE))
    .setIssuedAt()
    .setExpirationTime(lifetime)
    .sign(await importJWK(key.privateJwk, 'RS256'));
}

/** A token for ALICE as the token service would issue it from `clientIp`. */
async function aliceToken(clientIp: string, options: { cp1?: boolean; resourceIp?: string } = {}) {
  const { result, claims } = await conditionalAccessFor(issuer.context).evaluateIssuance({
    principal: { type: 'user', id: ALICE },
    audience: API,
    clientIp,
    cp1: options.cp1 ?? true,
    ...(options.resourceIp
      ? { claims: { access_token: { xms_rp_ipaddr: { value: options.resourceIp } } } }
      : {}),
  });
  if (result.decision.access !== 'allow') return { result, token: undefined };
  const token = await mint(
    { ...claims, ipaddr: clientIp, ...(options.cp1 === false ? {} : { xms_cc: ['cp1'] }) },
    API,
  );
  return { result, token };
}

async function admin(method: string, path: string, body?: unknown) {
  const token = await mint({ roles: ['admin'], idtyp: 'app', oid: 'admin' }, 'urn:opencae:admin');
  const response = await fetch(`${issuerBase}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: response.status === 204 ? undefined : await response.json() };
}

/** Calls the resource from a chosen local address. */
function callResource(from: string, token: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; challenge: string | undefined; body: { reason?: string } }>(
    (resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: resourcePort,
          path: '/data',
          localAddress: from,
          headers: { authorization: `Bearer ${token}`, ...headers },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              challenge: res.headers['www-authenticate'] as string | undefined,
              body: text ? JSON.parse(text) : {},
            }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    },
  );
}

async function latestPolicyEvent() {
  const row = await issuer.context.db
    .selectFrom('security_events')
    .select('event')
    .where('event_type', '=', 'urn:opencae:secevent:event-type:policy-changed')
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
  return row.event as { policy_version: number; audiences?: string[] };
}

let branch: { id: string };
let policy: { id: string };

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'opencae-lp-'));
  issuer = await createIssuer(
    { issuerUrl: ISSUER, dataDir, host: '127.0.0.1', port: 0 },
    { modules: [conditionalAccessModule()] },
  );
  // Test-only key set route (the token service serves the real one).
  issuer.app.get('/test-jwks', async () => issuer.context.keys.jwks());
  issuerBase = await issuer.listen();
  await issuer.context.db
    .insertInto('users')
    .values({
      id: ALICE,
      username: 'alice',
      display_name: 'Alice',
      email: null,
      kind: 'guest',
      password_hash: null,
      totp_secret: null,
    })
    .execute();

  branch = (
    await admin('POST', '/named-locations', { name: 'Branch', trusted: true, ranges: ['127.0.0.2/32'] })
  ).body;
  policy = (
    await admin('POST', '/conditional-access/policies', {
      name: 'Trusted networks only',
      state: 'enabled',
      assignments: { users: { include: ['All'] } },
      targetApis: { include: [API] },
      conditions: { locations: { include: ['All'], exclude: ['AllTrusted'] } },
      grantControls: { block: true },
    })
  ).body;

  policies = new LocationPolicyClient({
    issuer: issuerBase,
    audience: API,
    accessToken: () => mint({ roles: ['ssf.read'], idtyp: 'app', oid: 'resource-app' }, 'urn:opencae:ssf'),
    refreshIntervalMs: 0,
  });
  await policies.start();
  guard = createResourceGuard({
    issuer: ISSUER,
    audience: API,
    jwksUri: `${issuerBase}/test-jwks`,
    authorizationUri: `${ISSUER}/authorize`,
    location: createLocationEnforcer(policies),
  });
  resource = createServer(async (req, res) => {
    const decision = await guard.verifyRequest({
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress,
    });
    if (decision.ok) {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ip: decision.clientIp }));
    } else {
      res
        .writeHead(decision.status, { ...decision.headers, 'content-type': 'application/json' })
        .end(JSON.stringify(decision.body));
    }
  });
  await new Promise<void>((resolve) => resource.listen(0, '127.0.0.1', resolve));
  resourcePort = (resource.address() as AddressInfo).port;
});

afterAll(async () => {
  policies?.close();
  await new Promise((resolve) => resource?.close(resolve));
  await guard?.close();
  await issuer?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('location enforcement end to end', () => {
  it('a token works from the allowed address and is challenged from another on that very request', async () => {
    const { token, result } = await aliceToken('127.0.0.2');
    expect(result.decision.locationPolicyIds).toEqual([policy.id]);
    expect((await callResource('127.0.0.2', token!)).status).toBe(200);

    const moved = await callResource('127.0.0.3', token!);
    expect(moved.status).toBe(401);
    expect(moved.body.reason).toBe('location_blocked');
    const challenge = parseClaimsChallenge(moved.challenge);
    expect(challenge?.claims).toMatchObject({ access_token: { xms_rp_ipaddr: { value: '127.0.0.3' } } });
  });

  it('X-Forwarded-For from an untrusted peer changes nothing', async () => {
    const { token } = await aliceToken('127.0.0.2');
    const spoofed = await callResource('127.0.0.3', token!, { 'x-forwarded-for': '127.0.0.2' });
    expect(spoofed.status).toBe(401);
    expect(spoofed.body.reason).toBe('location_blocked');
  });

  it('a non-CAE token from a blocked address gets invalid_token', async () => {
    const { token } = await aliceToken('127.0.0.2', { cp1: false });
    const response = await callResource('127.0.0.3', token!);
    expect(response.status).toBe(401);
    expect(response.challenge).toMatch(/error="invalid_token"/);
    expect(parseClaimsChallenge(response.challenge)).toBeUndefined();
  });

  it('the issuer refuses a token from the blocked address, and the split-tunnel case yields a suspended one-hour token', async () => {
    expect((await aliceToken('127.0.0.3')).result.decision).toMatchObject({
      access: 'block',
      blockReason: 'policy',
    });
    const split = await aliceToken('127.0.0.2', { resourceIp: '127.0.0.3' });
    expect(split.result.decision.ipCheck).toBe('suspended');
    expect(split.result).toMatchObject({ issuerIp: '127.0.0.2', resourceIp: '127.0.0.3' });
    expect((await callResource('127.0.0.3', split.token!)).status).toBe(200);
  });

  it('strict location enforcement blocks the split-tunnel case', async () => {
    const strict = await admin('PUT', `/conditional-access/policies/${policy.id}`, {
      name: 'Trusted networks only',
      state: 'enabled',
      assignments: { users: { include: ['All'] } },
      targetApis: { include: [API] },
      conditions: { locations: { include: ['All'], exclude: ['AllTrusted'] } },
      grantControls: { block: true },
      sessionControls: { caeMode: 'strictLocation' },
    });
    expect(strict.status).toBe(200);
    const split = await aliceToken('127.0.0.2', { resourceIp: '127.0.0.3' });
    expect(split.result.decision).toMatchObject({ access: 'block', blockReason: 'ipVariationStrict' });
  });

  it('a named location change takes effect at the resource without restarting anything', async () => {
    const { token: before } = await aliceToken('127.0.0.2');
    expect((await callResource('127.0.0.2', before!)).status).toBe(200);

    const changed = await admin('PUT', `/named-locations/${branch.id}`, {
      name: 'Branch',
      trusted: true,
      ranges: ['127.0.0.3/32'],
    });
    expect(changed.status).toBe(200);
    // What the SSF receiver does with the OPENCAE policy-changed SET.
    const event = await latestPolicyEvent();
    expect(event.audiences).toEqual([API]);
    policies.onPolicyChanged(event);

    // The old token is challenged at once (policy version), even before the refetch completes.
    const stale = await callResource('127.0.0.2', before!);
    expect(stale.status).toBe(401);
    expect(stale.body.reason).toBe('policy_changed');
    expect(stale.challenge).toMatch(/error="insufficient_claims"/);

    await policies.refresh();
    expect(policies.rules?.document.namedLocations[0]?.ranges).toEqual(['127.0.0.3/32']);
    const { token: after } = await aliceToken('127.0.0.3');
    expect((await callResource('127.0.0.3', after!)).status).toBe(200);
    expect((await callResource('127.0.0.2', after!)).status).toBe(401);
    // The periodic refresh is a conditional request: nothing changed, nothing replaced.
    expect(await policies.refresh()).toBe(false);
  });

  it('ignores policy-changed events for other APIs', async () => {
    const required = policies.requiredVersion;
    policies.onPolicyChanged({ policy_version: required + 100, audiences: ['https://other.example'] });
    expect(policies.requiredVersion).toBe(required);
  });
});
