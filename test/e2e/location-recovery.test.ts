/**
 * A location challenge answered by the client SDK on its own, end to end: the daemon reaches the issuer
 * from an allowed address (127.0.0.1) but the API sees it from another one (127.0.0.2), the split tunnel
 * of the seeds. The API challenges with `xms_rp_ipaddr`; the client re-requests with the challenge's
 * claims; the issuer, seeing both addresses, grants a one-hour token with IP checks suspended. Under
 * strict location enforcement the same answer ends in a typed refusal, after one round trip.
 */
import { request as httpRequest } from 'node:http';
import { ClaimsChallengeRefusedError, OpenCaeClient } from '@opencae/client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningExampleApi, startExampleApi } from './support/example-apis.js';
import { type RunningIssuer, startIssuer, storageEngines } from './support/issuer.js';
import { RequestLog } from './support/observers.js';

const AUDIENCE = 'api://location-recovery';
const API_CLIENT_ADDRESS = '127.0.0.2';

/** fetch over node:http from a chosen local address: how the API sees the daemon. */
function fetchFrom(localAddress: string): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    return new Promise<Response>((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: `${url.pathname}${url.search}`,
          method: request.method,
          localAddress,
          headers: Object.fromEntries(request.headers),
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(incoming.headers)) {
              for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value])
                headers.append(name, item);
            }
            resolve(new Response(Buffer.concat(chunks), { status: incoming.statusCode ?? 0, headers }));
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  };
}

describe('a location challenge answered by the client SDK (split tunnel)', () => {
  let stack: RunningIssuer;
  let api: RunningExampleApi;
  let policyId: string;
  let policyBody: Record<string, unknown>;
  let daemon: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    stack = await startIssuer(storageEngines[0]!);
    await stack.admin.createApi(AUDIENCE);
    const location = await stack.admin.call<{ id: string }>('POST', '/named-locations', {
      name: 'this machine',
      trusted: true,
      ranges: ['127.0.0.1/32'],
    });
    expect(location.id).toBeTruthy();
    policyBody = {
      name: 'the API only from trusted locations',
      state: 'enabled',
      assignments: { servicePrincipals: { include: ['All'] } },
      targetApis: { include: [AUDIENCE] },
      conditions: { locations: { include: ['All'], exclude: ['AllTrusted'] } },
      grantControls: { block: true },
    };
    policyId = (await stack.admin.call<{ id: string }>('POST', '/conditional-access/policies', policyBody))
      .id;
    const receiver = await stack.admin.createReceiver('receiver');
    api = await startExampleApi({
      framework: 'express',
      issuerUrl: stack.url,
      audience: AUDIENCE,
      delivery: 'push',
      receiver: { clientId: receiver.application.client_id, clientSecret: receiver.client_secret!.value },
    });
    const created = await stack.admin.createDaemon('split-tunnel daemon', AUDIENCE);
    daemon = { clientId: created.application.client_id, clientSecret: created.client_secret!.value };
  });
  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  const newClient = () => {
    const toApi = fetchFrom(API_CLIENT_ADDRESS);
    const log = new RequestLog(stack.url, api.url);
    const client = new OpenCaeClient({
      issuer: stack.url,
      ...daemon,
      scopes: `${AUDIENCE}/.default`,
      fetch: (input, init) => {
        const url = input instanceof Request ? input.url : String(input);
        return log.fetch(input, init, url.startsWith(api.url) ? toApi : fetch);
      },
    });
    return { client, log };
  };

  it('recovers on its own: a one-hour token with IP checks suspended, in one round trip', async () => {
    const { client, log } = newClient();
    const response = await client.fetch(`${api.url}/me`);
    expect(response.status).toBe(200);
    const claims = (await response.json()) as Record<string, unknown>;
    expect(claims.xms_ipchk).toBe('suspended');
    expect(Number(claims.exp) - Number(claims.iat)).toBe(3600);
    // One challenged call, one re-request carrying xms_rp_ipaddr, one accepted call.
    expect(log.apiRequests).toBe(2);
    expect(log.tokenRequests).toBe(2);
    const token = await client.getAccessToken();
    expect(decodeJwt(token.token).xms_ipchk).toBe('suspended');
  });

  it('under strict location enforcement, the answer is a typed refusal, not a retry storm', async () => {
    await stack.admin.call('PUT', `/conditional-access/policies/${policyId}`, {
      ...policyBody,
      sessionControls: { caeMode: 'strictLocation' },
    });
    const { client, log } = newClient();
    const outcome = await client.fetch(`${api.url}/me`).then(
      (response) => new Error(`expected a refusal, the API answered ${response.status}`),
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(ClaimsChallengeRefusedError);
    expect(log.apiRequests).toBe(1);
    expect(log.tokenRequests).toBe(2);
  });
});
