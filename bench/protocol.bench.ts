/**
 * @opencae/protocol hot paths: what a resource does on every rejected request (build a claims
 * challenge), what a client does on every 401 (parse it), and what a receiver does per event
 * (verify a SET), RS256 and ES256 side by side, against bare `jose` signature verification.
 */

import { performance } from 'node:perf_hooks';
import {
  buildClaimsChallenge,
  buildSet,
  CAEP,
  parseClaimsChallenge,
  revocationClaims,
  signSet,
  verifySet,
} from '@opencae/protocol';
import { compactVerify, generateKeyPair } from 'jose';
import {
  type Benchmark,
  defaultMeasureOptions,
  type Measurement,
  measureOpsPerSecond,
  percentiles,
} from './harness.js';

const ISSUER = 'https://issuer.example.com';
const AUDIENCE = 'https://api.example.com';

export default {
  name: 'protocol',
  description:
    'Claims challenge build and parse (WWW-Authenticate), and Security Event Token verification (RS256 vs ES256 vs bare jose).',
  async run(ctx) {
    const options = defaultMeasureOptions(ctx);
    const interleaving = `median of ${options.rounds} interleaved rounds, ${options.durationMs} ms per candidate in total after ${options.warmupMs} ms warm-up`;

    // --- claims challenges -------------------------------------------------------------------
    const challengeInput = {
      authorizationUri: `${ISSUER}/authorize`,
      claims: revocationClaims(1_700_000_000, '203.0.113.7'),
      errorDescription: 'Token was issued before the user session was revoked',
    };
    const header = buildClaimsChallenge(challengeInput);
    // What a client sees from a resource that also offers another scheme, in two header fields.
    const headers = ['Basic realm="legacy"', `DPoP algs="ES256", ${header}`];
    if (!parseClaimsChallenge(headers)) throw new Error('benchmark input does not parse');

    const challenge = await measureOpsPerSecond(
      {
        build: () => buildClaimsChallenge(challengeInput),
        parse: () => parseClaimsChallenge(header),
        parseMulti: () => parseClaimsChallenge(headers),
      },
      options,
    );

    // --- SET verification --------------------------------------------------------------------
    const [rsa, ec] = await Promise.all([
      generateKeyPair('RS256', { modulusLength: 2048 }),
      generateKeyPair('ES256'),
    ]);
    const payload = buildSet({
      issuer: ISSUER,
      audience: AUDIENCE,
      subject: { format: 'iss_sub', iss: ISSUER, sub: '7f1b1c3e-5d2a-4c1e-9f5b-0a1b2c3d4e5f' },
      eventType: CAEP.sessionRevoked,
      event: { event_timestamp: 1_700_000_000, initiating_entity: 'admin' },
      txn: 'b1f9d7b0',
    });
    const rs256 = await signSet(payload, rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' });
    const es256 = await signSet(payload, ec.privateKey, { alg: 'ES256', kid: 'ec-1' });
    const verify = (jwt: string, key: CryptoKey) =>
      verifySet(jwt, { key, issuer: ISSUER, audience: AUDIENCE });
    await Promise.all([verify(rs256, rsa.publicKey), verify(es256, ec.publicKey)]);

    const set = await measureOpsPerSecond(
      {
        rs256: () => verify(rs256, rsa.publicKey),
        es256: () => verify(es256, ec.publicKey),
        joseRs256: () => compactVerify(rs256, rsa.publicKey, { algorithms: ['RS256'] }),
        joseEs256: () => compactVerify(es256, ec.publicKey, { algorithms: ['ES256'] }),
      },
      options,
    );

    // Per-call latency, RS256 and ES256 alternating call by call so both see the same load.
    const latencySamples = ctx.quick ? 300 : 3000;
    const latency = { rs256: [] as number[], es256: [] as number[] };
    for (let i = 0; i < latencySamples; i++) {
      for (const [alg, jwt, key] of [
        ['rs256', rs256, rsa.publicKey],
        ['es256', es256, ec.publicKey],
      ] as const) {
        const start = performance.now();
        await verify(jwt, key);
        latency[alg].push((performance.now() - start) * 1000);
      }
    }
    const rsLatency = percentiles(latency.rs256, [50, 99]);
    const esLatency = percentiles(latency.es256, [50, 99]);
    const latencyMethod = `${latencySamples} sequential verifySet calls per algorithm, RS256 and ES256 alternating call by call; nearest-rank percentiles of per-call wall time.`;
    const micros = (name: string, value: number, peers: Record<string, number>): Measurement => ({
      name,
      metric: 'latency',
      value: Math.round(value * 10) / 10,
      unit: 'µs',
      peers: Object.fromEntries(Object.entries(peers).map(([k, v]) => [k, Math.round(v * 10) / 10])),
      method: latencyMethod,
    });

    const ops = (
      name: string,
      value: number,
      peers: Record<string, number>,
      method: string,
    ): Measurement => ({
      name,
      metric: 'throughput',
      value: Math.round(value),
      unit: 'ops/s',
      peers: Object.fromEntries(Object.entries(peers).map(([k, v]) => [k, Math.round(v)])),
      method,
    });
    const challengeMethod = `one thread, synchronous calls; ${interleaving}. Header: Entra-shaped revocation challenge with xms_rp_ipaddr (${header.length} characters).`;
    const setMethod = `one thread, sequential awaited calls through WebCrypto (jose); ${interleaving}. verifySet includes header/typ/alg checks, JSON parse, iss/aud, SET structure, sub_id and event schema validation; jose.compactVerify is the signature check alone.`;
    return [
      ops(
        'claims-challenge.build',
        challenge.build.median,
        { 'claims-challenge.parse': challenge.parse.median },
        challengeMethod,
      ),
      ops(
        'claims-challenge.parse',
        challenge.parse.median,
        { 'claims-challenge.build': challenge.build.median },
        challengeMethod,
      ),
      ops(
        'claims-challenge.parse (3 challenges, 2 fields)',
        challenge.parseMulti.median,
        { 'claims-challenge.parse': challenge.parse.median },
        challengeMethod,
      ),
      ops(
        'set.verify.rs256',
        set.rs256.median,
        { 'set.verify.es256': set.es256.median, 'jose.compactVerify.rs256': set.joseRs256.median },
        setMethod,
      ),
      ops(
        'set.verify.es256',
        set.es256.median,
        { 'set.verify.rs256': set.rs256.median, 'jose.compactVerify.es256': set.joseEs256.median },
        setMethod,
      ),
      ops(
        'jose.compactVerify.rs256',
        set.joseRs256.median,
        { 'jose.compactVerify.es256': set.joseEs256.median },
        setMethod,
      ),
      ops(
        'jose.compactVerify.es256',
        set.joseEs256.median,
        { 'jose.compactVerify.rs256': set.joseRs256.median },
        setMethod,
      ),
      micros('set.verify.rs256 p50', rsLatency[50]!, { 'set.verify.es256 p50': esLatency[50]! }),
      micros('set.verify.es256 p50', esLatency[50]!, { 'set.verify.rs256 p50': rsLatency[50]! }),
      micros('set.verify.rs256 p99', rsLatency[99]!, { 'set.verify.es256 p99': esLatency[99]! }),
      micros('set.verify.es256 p99', esLatency[99]!, { 'set.verify.rs256 p99': rsLatency[99]! }),
    ];
  },
} satisfies Benchmark;
