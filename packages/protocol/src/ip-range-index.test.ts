import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { IpRangeIndex, IpRangeSyntaxError, parseIpAddress, parseIpRange } from './ip-range-index.js';

const index = (entries: Record<string, string[]>) =>
  IpRangeIndex.build(
    Object.entries(entries).map(([key, ranges]) => ({ key, ranges: ranges.map(parseIpRange) })),
  );

describe('parseIpRange', () => {
  it('parses IPv4 and IPv6 CIDR ranges and single addresses', () => {
    expect(parseIpRange('10.0.0.0/8')).toEqual({ family: 4, first: 0x0a000000, last: 0x0affffff });
    expect(parseIpRange(' 192.0.2.7 ')).toEqual({ family: 4, first: 0xc0000207, last: 0xc0000207 });
    expect(parseIpRange('0.0.0.0/0')).toEqual({ family: 4, first: 0, last: 0xffffffff });
    expect(parseIpRange('2001:db8::/32')).toEqual({
      family: 6,
      first: 0x20010db8n << 96n,
      last: (0x20010db8n << 96n) | ((1n << 96n) - 1n),
    });
    expect(parseIpRange('::/0')).toEqual({ family: 6, first: 0n, last: (1n << 128n) - 1n });
  });

  it('treats an IPv4-mapped IPv6 range as the IPv4 range it denotes', () => {
    expect(parseIpRange('::ffff:10.0.0.0/104')).toEqual(parseIpRange('10.0.0.0/8'));
  });

  it.each([
    ['', 'empty'],
    ['10.0.0.0/33', 'prefix length'],
    ['10.0.0.0/-1', 'prefix length'],
    ['10.0.0.0/8/8', 'prefix length'],
    ['10.0.0.1/8', 'did you mean 10.0.0.0/8'],
    ['2001:db8::1/32', 'did you mean 2001:db8::/32'],
    ['300.0.0.0/8', 'not an IPv4 or IPv6 address'],
    ['example.com/24', 'not an IPv4 or IPv6 address'],
    ['0x0a.0.0.0/8', 'four decimal parts'],
    ['10.1/16', 'four decimal parts'],
    ['fe80::1%eth0/64', 'not an IPv4 or IPv6 address'],
    ['2001:db8::/129', 'prefix length'],
  ])('refuses %j with a clear message', (input, message) => {
    expect(() => parseIpRange(input)).toThrow(IpRangeSyntaxError);
    expect(() => parseIpRange(input)).toThrow(message);
  });
});

describe('IpRangeIndex', () => {
  it('finds every key whose ranges contain an address, with overlaps and nesting', () => {
    const ranges = index({
      office: ['192.0.2.0/24', '2001:db8:1::/48'],
      hq: ['192.0.2.128/25', '198.51.100.7'],
      wide: ['192.0.0.0/16', '2001:db8::/32'],
    });
    expect(ranges.lookup('192.0.2.200')).toEqual(['hq', 'office', 'wide']);
    expect(ranges.lookup('192.0.2.5')).toEqual(['office', 'wide']);
    expect(ranges.lookup('192.0.3.5')).toEqual(['wide']);
    expect(ranges.lookup('198.51.100.7')).toEqual(['hq']);
    expect(ranges.lookup('198.51.100.8')).toEqual([]);
    expect(ranges.lookup('2001:db8:1:ffff::1')).toEqual(['office', 'wide']);
    expect(ranges.lookup('2001:db8:2::1')).toEqual(['wide']);
    expect(ranges.lookup('::ffff:192.0.2.200')).toEqual(['hq', 'office', 'wide']);
    expect(ranges.lookup('not an ip')).toEqual([]);
    expect(ranges.size).toBe(6);
  });

  it('handles ranges that touch the ends of the address space', () => {
    const ranges = index({ all4: ['0.0.0.0/0'], top: ['255.255.255.255'], all6: ['::/0'], low6: ['::/128'] });
    expect(ranges.lookup('255.255.255.255')).toEqual(['all4', 'top']);
    expect(ranges.lookup('0.0.0.0')).toEqual(['all4']);
    expect(ranges.lookup('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toEqual(['all6']);
    expect(ranges.lookup('::')).toEqual(['all6', 'low6']);
  });

  it('agrees with a linear scan (property)', () => {
    const v4Range = fc
      .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
      .map(([value, bits]) => {
        const size = 2 ** (32 - bits);
        const first = value - (value % size);
        return { family: 4 as const, first, last: first + size - 1 };
      });
    const keyed = fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), range: v4Range }), {
      maxLength: 30,
    });
    fc.assert(
      fc.property(
        keyed,
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 20 }),
        (entries, probes) => {
          const built = IpRangeIndex.build(entries.map(({ key, range }) => ({ key, ranges: [range] })));
          const edges = entries.flatMap(({ range }) => [
            range.first,
            range.last,
            range.last + 1,
            range.first - 1,
          ]);
          for (const value of [...probes, ...edges].filter((v) => v >= 0 && v <= 0xffffffff)) {
            const expected = [
              ...new Set(
                entries.filter(({ range }) => range.first <= value && value <= range.last).map((e) => e.key),
              ),
            ].sort();
            expect(built.lookup({ family: 4, value })).toEqual(expected);
          }
        },
      ),
    );
  });

  it('parses client addresses exactly as ipaddr.js does (property)', () => {
    const reference = (text: string) => {
      const address = ipaddr.process(text);
      const bytes = address.toByteArray();
      let value = 0n;
      for (const byte of bytes) value = (value << 8n) | BigInt(byte);
      return address.kind() === 'ipv4' ? { family: 4, value: Number(value) } : { family: 6, value };
    };
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        // ipaddr.js unwraps the deprecated IPv4-compatible form (::a.b.c.d) as if it were mapped; it is not.
        fc.pre(!/^::[\d.]+$/.test(text));
        expect(parseIpAddress(text)).toEqual(reference(text));
        expect(parseIpAddress(text.toUpperCase())).toEqual(reference(text));
      }),
      { numRuns: 2000 },
    );
    expect(parseIpAddress('::ffff:0a00:0001')).toEqual({ family: 4, value: 0x0a000001 });
    expect(parseIpAddress('1:2:3:4:5:6:7:8:9')).toBeUndefined();
    expect(parseIpAddress('010.0.0.1')).toBeUndefined();
    expect(parseIpAddress('256.0.0.1')).toBeUndefined();
  });

  it('parses client addresses, unwrapping IPv4-mapped IPv6 and ignoring zones', () => {
    expect(parseIpAddress('::ffff:127.0.0.2')).toEqual({ family: 4, value: 0x7f000002 });
    expect(parseIpAddress('fe80::1%eth0')).toEqual({ family: 6, value: (0xfe80n << 112n) | 1n });
    expect(parseIpAddress('nonsense')).toBeUndefined();
    expect(parseIpAddress('')).toBeUndefined();
  });
});
