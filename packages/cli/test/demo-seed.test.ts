/**
 * The demo tenant seed against a real issuer (admin API over HTTP): everything is created once, a
 * second run changes nothing, and credentials demo.json lost are re-issued for the same objects.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIssuer, type Issuer } from '@opencae/issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../src/admin-client.js';
import { resolveConnection } from '../src/connection.js';
import { DEMO_API_AUDIENCE, DEMO_POLICY_NAME, seedDemoTenant } from '../src/demo-tenant/seed.js';
import { freePort } from './cli-harness.js';

describe('demo tenant seed', () => {
  let dataDir: string;
  let issuer: Issuer;
  let url: string;
  let admin: AdminClient;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opencae-seed-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    issuer = await createIssuer({ issuerUrl: url, port, host: '127.0.0.1', dataDir, devMode: true });
    await issuer.listen();
    admin = new AdminClient(await resolveConnection({ data: dataDir, issuer: url }, {}), fetch);
  });
  afterAll(async () => {
    await issuer?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates the tenant the demo needs, then nothing on a second run', async () => {
    const first = await seedDemoTenant(admin, dataDir, url);
    expect(first.created).toEqual([
      `API ${DEMO_API_AUDIENCE}`,
      'member alice',
      'guest gary',
      'member ada',
      'application Sample daemon',
      'application Sample API receiver',
      'application Sample web app',
      'named location Demo office (this machine)',
      `Conditional Access policy ${DEMO_POLICY_NAME}`,
    ]);
    expect(first.newPasswords.map((user) => user.username)).toEqual(['alice', 'gary', 'ada']);
    const administrators = await admin.request<{ items: { username: string }[] }>(
      'GET',
      `/groups/${encodeURIComponent('OpenCAE Administrators')}/members`,
    );
    expect(administrators.items.map((user) => user.username)).toEqual(['ada']);
    const api = await admin.request<{ cae_enabled: boolean }>(
      'GET',
      `/apis/${encodeURIComponent(DEMO_API_AUDIENCE)}`,
    );
    expect(api.cae_enabled).toBe(true);
    const policy = await admin.request<Record<string, unknown>>(
      'GET',
      `/conditional-access/policies/${first.tenant.policy.id}`,
    );
    expect(policy).toMatchObject({
      state: 'enabled',
      targetApis: { include: [DEMO_API_AUDIENCE] },
      conditions: { locations: { include: ['All'], exclude: ['AllTrusted'] } },
      grantControls: { block: true },
    });
    const guest = await admin.request<{ kind: string }>('GET', '/users/gary');
    expect(guest.kind).toBe('guest');

    const second = await seedDemoTenant(admin, dataDir, url);
    expect(second.created).toEqual([]);
    expect(second.newPasswords).toEqual([]);
    expect(second.tenant).toEqual(first.tenant);
  });

  it('re-issues what demo.json lost, for the same objects', async () => {
    const before = JSON.parse(await readFile(join(dataDir, 'demo.json'), 'utf8'));
    await rm(join(dataDir, 'demo.json'));
    const third = await seedDemoTenant(admin, dataDir, url);
    expect(third.created).toEqual([]);
    expect(third.tenant.member.id).toBe(before.member.id);
    expect(third.tenant.member.password).not.toBe(before.member.password);
    expect(third.newPasswords.map((user) => user.username)).toEqual(['alice', 'gary', 'ada']);
    expect(third.tenant.daemon.client_id).toBe(before.daemon.client_id);
    expect(third.tenant.daemon.client_secret).not.toBe(before.daemon.client_secret);
    expect(third.tenant.policy).toEqual(before.policy);
    // The re-issued daemon secret is accepted by the token endpoint.
    const token = await fetch(`${url}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${third.tenant.daemon.client_id}:${third.tenant.daemon.client_secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: `${DEMO_API_AUDIENCE}/.default` }),
    });
    expect(token.status).toBe(200);
  });
});
