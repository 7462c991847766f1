import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPENCAE } from '@opencae/protocol';
import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIssuer, type Issuer } from '../server.js';
import { conditionalAccessModule } from './module.js';
import { conditionalAccessFor } from './service.js';

const ISSUER = 'https://issuer.test';
const API = 'https://api.example';

let issuer: Issuer;
let adminToken: string;
let dataDir: string;

async function token(claims: Record<string, unknown>, audience: string): Promise<string> {
  const key = (await issuer.context.keys.activeKey())!;
  return new SignJWT({ oid: 'admin-sp', azp: 'admin-client', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setSubject('admin-sp')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(await importJWK(key.privateJwk, 'RS256'));
}

function call(
  method: string,
  url: string,
  body?: unknown,
  bearer = adminToken,
  headers: Record<string, string> = {},
) {
  return issuer.app.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${bearer}`, ...headers },
    ...(body === undefined ? {} : { payload: body as object }),
  });
}

const blockOutsideOffice = (officeId: string, audiences = [API]) => ({
  name: 'Block outside the office',
  state: 'enabled',
  assignments: { users: { include: ['All'] }, servicePrincipals: { include: ['All'] } },
  targetApis: { include: audiences },
  conditions: { locations: { include: ['All'], exclude: [officeId] } },
  grantControls: { block: true },
});

beforeAll(async () => {
  // The issuer resolves dataDir as a path: a fresh folder per run.
  dataDir = await mkdtemp(join(tmpdir(), 'opencae-ca-'));
  issuer = await createIssuer(
    { issuerUrl: ISSUER, dataDir, port: 0 },
    { modules: [conditionalAccessModule()] },
  );
  adminToken = await token({ roles: ['admin'] }, 'urn:opencae:admin');
});
afterAll(async () => {
  await issuer?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('admin routes', () => {
  it('refuses requests without an admin token', async () => {
    expect((await issuer.app.inject({ method: 'GET', url: '/admin/v1/named-locations' })).statusCode).toBe(
      401,
    );
    const reader = await token({ roles: ['ssf.read'] }, 'urn:opencae:ssf');
    expect((await call('GET', '/admin/v1/named-locations', undefined, reader)).statusCode).toBe(401);
    const noRole = await token({ roles: ['reader'] }, 'urn:opencae:admin');
    expect((await call('GET', '/admin/v1/conditional-access/policies', undefined, noRole)).statusCode).toBe(
      403,
    );
  });

  it('refuses a request without a token before reading its body (up to 8 MiB for a named location)', async () => {
    // Malformed JSON: a body parsed before the token check would answer 400, not 401.
    for (const url of ['/admin/v1/named-locations', '/admin/v1/conditional-access/policies']) {
      const response = await issuer.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        payload: '{"name":',
      });
      expect(response.statusCode, url).toBe(401);
    }
  });

  it('creates, reads, replaces and deletes a named location, bumping the version and emitting events', async () => {
    const created = await call('POST', '/admin/v1/named-locations', {
      name: 'Lab',
      trusted: true,
      ranges: ['192.0.2.0/24', '2001:db8::/32'],
    });
    expect(created.statusCode).toBe(201);
    const lab = created.json();
    expect(lab).toMatchObject({ name: 'Lab', trusted: true, ranges: ['192.0.2.0/24', '2001:db8::/32'] });
    const v1 = Number(created.headers['opencae-policy-version']);
    expect(v1).toBeGreaterThan(0);

    expect((await call('GET', `/admin/v1/named-locations/${lab.id}`)).json()).toEqual(lab);
    const replaced = await call('PUT', `/admin/v1/named-locations/${lab.id}`, {
      name: 'Lab 2',
      ranges: ['198.51.100.0/24'],
    });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json()).toMatchObject({ name: 'Lab 2', trusted: false });
    const v2 = Number(replaced.headers['opencae-policy-version']);
    expect(v2).toBe(v1 + 1);

    const deleted = await call('DELETE', `/admin/v1/named-locations/${lab.id}`);
    expect(deleted.statusCode).toBe(204);
    expect(Number(deleted.headers['opencae-policy-version'])).toBe(v2 + 1);
    expect((await call('GET', `/admin/v1/named-locations/${lab.id}`)).statusCode).toBe(404);

    const events = await issuer.context.db
      .selectFrom('security_events')
      .selectAll()
      .where('principal_id', '=', lab.id)
      .orderBy('id')
      .execute();
    expect(events.map((event) => event.event.policy_version)).toEqual([v1, v2, v2 + 1]);
    for (const event of events) {
      expect(event).toMatchObject({
        event_type: OPENCAE.policyChanged,
        principal_type: 'policy',
        subject: { format: 'opaque', id: 'conditional-access' },
      });
      // No policy uses the location: the change concerns no audience.
      expect(event.event.audiences).toEqual([]);
      expect(typeof event.event.event_timestamp).toBe('number');
    }
    const audit = await issuer.context.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target_id', '=', lab.id)
      .orderBy('id')
      .execute();
    expect(audit.map((row) => row.action)).toEqual([
      'conditionalAccess.namedLocation.create',
      'conditionalAccess.namedLocation.replace',
      'conditionalAccess.namedLocation.delete',
    ]);
    expect(audit[0]).toMatchObject({ actor: 'admin-client', txn: events[0]!.txn });
  });

  it('refuses invalid ranges with the offending entry, and duplicate names', async () => {
    const bad = await call('POST', '/admin/v1/named-locations', {
      name: 'Bad',
      ranges: ['10.0.0.0/8', '10.0.0.1/8', 'nope'],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      error: 'invalid_request',
      code: 'ERR_CA_INVALID',
      details: [
        { path: 'ranges.1', message: expect.stringContaining('did you mean 10.0.0.0/8') },
        { path: 'ranges.2', message: expect.stringContaining('not an IPv4 or IPv6 address') },
      ],
    });
    expect(
      (await call('POST', '/admin/v1/named-locations', { name: 'Dup', ranges: ['10.0.0.0/8'] })).statusCode,
    ).toBe(201);
    const duplicate = await call('POST', '/admin/v1/named-locations', {
      name: 'Dup',
      ranges: ['10.0.0.0/8'],
    });
    expect(duplicate.statusCode).toBe(409);
    expect((await call('POST', '/admin/v1/named-locations', [1, 2])).statusCode).toBe(400);
    expect(
      (
        await issuer.app.inject({
          method: 'POST',
          url: '/admin/v1/named-locations',
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          payload: '{"name":',
        })
      ).statusCode,
    ).toBe(400);
    expect((await call('GET', '/admin/v1/named-locations/not-a-uuid')).statusCode).toBe(404);
  });

  it('accepts a named location of 10,000 IPv6 ranges', async () => {
    const ranges = Array.from({ length: 10_000 }, (_, i) => `2001:db8:${i.toString(16)}::/48`);
    const created = await call('POST', '/admin/v1/named-locations', { name: 'Big', ranges });
    expect(created.statusCode).toBe(201);
    expect(created.json().ranges).toHaveLength(10_000);
  });

  it('manages policies: validation, references, events with the targeted audiences, conflicts', async () => {
    const office = (
      await call('POST', '/admin/v1/named-locations', { name: 'Office', ranges: ['127.0.0.2'] })
    ).json();
    const unknown = blockOutsideOffice('00000000-0000-4000-8000-000000000999');
    const missing = await call('POST', '/admin/v1/conditional-access/policies', unknown);
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error_description).toMatch(/unknown named location/);

    const invalid = await call('POST', '/admin/v1/conditional-access/policies', { ...unknown, state: 'on' });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().details[0].path).toBe('state');

    const created = await call(
      'POST',
      '/admin/v1/conditional-access/policies',
      blockOutsideOffice(office.id),
    );
    expect(created.statusCode).toBe(201);
    const policy = created.json();
    expect(policy).toMatchObject({ state: 'enabled', sessionControls: { caeMode: 'default' } });
    const event = await issuer.context.db
      .selectFrom('security_events')
      .selectAll()
      .where('principal_id', '=', policy.id)
      .executeTakeFirstOrThrow();
    expect(event.event).toMatchObject({
      policy_version: Number(created.headers['opencae-policy-version']),
      audiences: [API],
    });

    // The location is now in use.
    const inUse = await call('DELETE', `/admin/v1/named-locations/${office.id}`);
    expect(inUse.statusCode).toBe(409);
    expect(inUse.json().error_description).toMatch(/Block outside the office/);

    // Changing the location now concerns the policy's audience.
    const moved = await call('PUT', `/admin/v1/named-locations/${office.id}`, {
      name: 'Office',
      ranges: ['127.0.0.3'],
    });
    const movedEvent = await issuer.context.db
      .selectFrom('security_events')
      .selectAll()
      .where('principal_id', '=', office.id)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(movedEvent.event).toMatchObject({
      policy_version: Number(moved.headers['opencae-policy-version']),
      audiences: [API],
    });

    const list = await call('GET', '/admin/v1/conditional-access/policies');
    expect(list.json().items.map((p: { id: string }) => p.id)).toContain(policy.id);
    const disabled = await call('PUT', `/admin/v1/conditional-access/policies/${policy.id}`, {
      ...blockOutsideOffice(office.id),
      state: 'disabled',
    });
    expect(disabled.json().state).toBe('disabled');
    expect((await call('DELETE', `/admin/v1/conditional-access/policies/${policy.id}`)).statusCode).toBe(204);
    expect((await call('DELETE', `/admin/v1/conditional-access/policies/${policy.id}`)).statusCode).toBe(404);
  });
});

describe('location policy sync endpoint', () => {
  it('serves the audience document to ssf.read holders only, with ETag and 304', async () => {
    const office = (
      await call('POST', '/admin/v1/named-locations', { name: 'HQ', ranges: ['203.0.113.0/24'] })
    ).json();
    const other = (
      await call('POST', '/admin/v1/named-locations', { name: 'Elsewhere', ranges: ['8.8.8.0/24'] })
    ).json();
    await call('POST', '/admin/v1/conditional-access/policies', {
      ...blockOutsideOffice(office.id),
      name: 'Sync policy',
    });
    await call('POST', '/admin/v1/conditional-access/policies', {
      ...blockOutsideOffice(other.id, ['https://other.example']),
      name: 'Other API policy',
    });
    const reader = await token({ roles: ['ssf.read'] }, 'urn:opencae:ssf');
    const url = `/conditional-access/v1/location-policies?audience=${encodeURIComponent(API)}`;

    expect((await call('GET', url, undefined, adminToken)).statusCode).toBe(401);
    const noRead = await token({ roles: ['something'] }, 'urn:opencae:ssf');
    expect((await call('GET', url, undefined, noRead)).statusCode).toBe(403);
    expect(
      (await call('GET', '/conditional-access/v1/location-policies', undefined, reader)).statusCode,
    ).toBe(400);

    const response = await call('GET', url, undefined, reader);
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.audience).toBe(API);
    expect(document.policies.map((p: { name: string }) => p.name)).toEqual(['Sync policy']);
    expect(document.namedLocations.map((l: { name: string }) => l.name)).toEqual(['HQ']);
    expect(document.policyVersion).toBeGreaterThanOrEqual(document.audienceVersion);
    const etag = response.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);

    const again = await call('GET', url, undefined, reader, { 'if-none-match': etag });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');

    // A change for another API moves the global version but not this audience's document version.
    const before = document.audienceVersion;
    await call('PUT', `/admin/v1/named-locations/${other.id}`, { name: 'Elsewhere', ranges: ['8.8.4.0/24'] });
    const after = await call('GET', url, undefined, reader);
    expect(after.json().audienceVersion).toBe(before);
    expect(after.json().policyVersion).toBeGreaterThan(document.policyVersion);

    // A change of the office location changes the document and its ETag.
    await call('PUT', `/admin/v1/named-locations/${office.id}`, { name: 'HQ', ranges: ['203.0.113.0/25'] });
    const changed = await call('GET', url, undefined, reader, { 'if-none-match': etag });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().audienceVersion).toBeGreaterThan(before);
    expect(changed.json().namedLocations[0].ranges).toEqual(['203.0.113.0/25']);
  });
});

describe('issuance-time evaluation', () => {
  it('evaluates a principal from the directory and returns the token claims and shape', async () => {
    const db = issuer.context.db;
    const userId = '50000000-0000-4000-8000-000000000001';
    const groupId = '60000000-0000-4000-8000-000000000001';
    await db
      .insertInto('users')
      .values({
        id: userId,
        username: 'guest1',
        display_name: 'Guest',
        email: null,
        kind: 'guest',
        password_hash: null,
        totp_secret: null,
      })
      .execute();
    await db.insertInto('groups').values({ id: groupId, name: 'partners' }).execute();
    await db.insertInto('group_members').values({ group_id: groupId, user_id: userId }).execute();

    const office = (
      await call('POST', '/admin/v1/named-locations', { name: 'Guest office', ranges: ['192.0.2.0/24'] })
    ).json();
    const policy = (
      await call('POST', '/admin/v1/conditional-access/policies', {
        name: 'Partners from their office only',
        state: 'enabled',
        assignments: { groups: { include: [groupId] } },
        targetApis: { include: ['https://guest.example'] },
        conditions: { locations: { include: ['All'], exclude: [office.id] } },
        grantControls: { block: true },
      })
    ).json();

    const service = conditionalAccessFor(issuer.context);
    const inside = await service.evaluateIssuance({
      principal: { type: 'user', id: userId },
      audience: 'https://guest.example',
      clientIp: '192.0.2.7',
      cp1: true,
    });
    expect(inside.result.decision.access).toBe('allow');
    expect(inside.claims).toEqual({ xms_pv: inside.result.policyVersion, xms_lp: [policy.id] });
    expect(inside.token).toEqual({ caeAllowed: true });

    const split = await service.evaluateIssuance({
      principal: { type: 'user', id: userId },
      audience: 'https://guest.example',
      clientIp: '192.0.2.7',
      claims: { access_token: { xms_rp_ipaddr: { value: '198.51.100.1' } } },
      cp1: true,
    });
    expect(split.claims.xms_ipchk).toBe('suspended');
    expect(split.token).toEqual({ caeAllowed: true, fixedLifetimeSeconds: 3600 });

    const outside = await service.evaluateIssuance({
      principal: { type: 'user', id: userId },
      audience: 'https://guest.example',
      clientIp: '198.51.100.1',
      cp1: true,
    });
    expect(outside.result.decision).toMatchObject({ access: 'block', enforcedBy: [policy.id] });
  });
});
