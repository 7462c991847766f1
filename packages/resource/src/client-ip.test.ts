import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveClientIp, TrustedProxies } from './client-ip.js';

describe('resolveClientIp', () => {
  const proxies = new TrustedProxies(['10.0.0.0/8', 'loopback', '2001:db8:ffff::/48']);

  it('uses the socket address when no proxy is trusted or the peer is not one', () => {
    expect(resolveClientIp('198.51.100.5', { 'x-forwarded-for': '1.2.3.4' }, new TrustedProxies([]))).toBe(
      '198.51.100.5',
    );
    expect(resolveClientIp('198.51.100.5', { 'x-forwarded-for': '1.2.3.4' }, proxies)).toBe('198.51.100.5');
    expect(resolveClientIp('::ffff:198.51.100.5', {}, proxies)).toBe('198.51.100.5');
  });

  it('walks X-Forwarded-For from the right through trusted proxies only', () => {
    const headers = { 'x-forwarded-for': '6.6.6.6, 198.51.100.9, 10.0.0.2' };
    expect(resolveClientIp('127.0.0.1', headers, proxies)).toBe('198.51.100.9');
    expect(
      resolveClientIp('10.9.9.9', { 'x-forwarded-for': ['6.6.6.6', '198.51.100.9:4711'] }, proxies),
    ).toBe('198.51.100.9');
    expect(resolveClientIp('10.9.9.9', { 'x-forwarded-for': '[2001:db8::1]:80' }, proxies)).toBe(
      '2001:db8::1',
    );
  });

  it('reads RFC 7239 Forwarded when configured', () => {
    const headers = { forwarded: 'for=6.6.6.6, for="[2001:db8::7]:4711";proto=https, for=10.0.0.3' };
    expect(resolveClientIp('10.0.0.1', headers, proxies, 'forwarded')).toBe('2001:db8::7');
    expect(resolveClientIp('10.0.0.1', { forwarded: 'for=unknown' }, proxies, 'forwarded')).toBeUndefined();
  });

  it('never lets an untrusted peer choose its address (property)', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string())), (peer, hops) => {
        fc.pre(!peer.startsWith('10.') && !peer.startsWith('127.'));
        expect(resolveClientIp(peer, { 'x-forwarded-for': hops.join(', ') }, proxies)).toBe(peer);
      }),
    );
  });

  it('never throws on garbage headers (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (xff, forwarded) => {
        const result = resolveClientIp('10.0.0.1', { 'x-forwarded-for': xff, forwarded }, proxies);
        expect(result === undefined || typeof result === 'string').toBe(true);
        resolveClientIp('10.0.0.1', { forwarded }, proxies, 'forwarded');
      }),
    );
  });
});
