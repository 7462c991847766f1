/**
 * IP range index: which keys (named locations) contain an address, in O(log n) whatever the number of
 * ranges and however they overlap. All ranges of one family are cut into disjoint segments, each
 * carrying the (interned) list of keys covering it; a lookup is one binary search.
 *
 * Shared by the issuer (Conditional Access evaluation) and the resource SDK (location enforcement).
 */
import { isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { OpenCaeError } from './errors.js';

export type IpFamily = 4 | 6;

/** An inclusive range of addresses: IPv4 as numbers, IPv6 as bigints. */
export type IpRange = { family: 4; first: number; last: number } | { family: 6; first: bigint; last: bigint };

export type IpAddressValue = { family: 4; value: number } | { family: 6; value: bigint };

/** Why a range or address text was refused; `message` says exactly what is wrong. */
export class IpRangeSyntaxError extends OpenCaeError {
  declare readonly code: 'ERR_IP_RANGE_INVALID';
  constructor(
    readonly input: string,
    message: string,
  ) {
    super('ERR_IP_RANGE_INVALID', message);
  }
}

const IPV4_MAX = 0xffffffff;
const IPV6_MAX = (1n << 128n) - 1n;

function ipv4Value(address: ipaddr.IPv4): number {
  const [a, b, c, d] = address.octets as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function ipv6Value(address: ipaddr.IPv6): bigint {
  let value = 0n;
  for (const part of address.parts) value = (value << 16n) | BigInt(part);
  return value;
}

const MAPPED_IPV4 = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

function dottedValue(text: string): number | undefined {
  const match = DOTTED_QUAD.exec(text);
  if (!match) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(match[i]);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** IPv6 text already validated by node:net; `::` expanded, an embedded IPv4 tail folded in. */
function ipv6TextValue(text: string): bigint | undefined {
  const tail = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(text);
  let body = text;
  const extra: number[] = [];
  if (tail) {
    const v4 = dottedValue(tail[1]!);
    if (v4 === undefined) return undefined;
    extra.push(v4 >>> 16, v4 & 0xffff);
    body = text.slice(0, text.length - tail[1]!.length);
    if (body.endsWith(':') && !body.endsWith('::')) body = body.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - extra.length - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...left, ...Array<string>(Math.max(missing, 0)).fill('0'), ...right];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(Number.parseInt(group, 16));
  for (const part of extra) value = (value << 16n) | BigInt(part);
  return value;
}

/**
 * Parses a client address; IPv4-mapped IPv6 (`::ffff:192.0.2.1`) is the IPv4 address, so a range
 * written either way matches it. A zone (`fe80::1%eth0`) is dropped. Undefined when the text is not an
 * address (never throws). Hot path: no generic parser, node:net validates IPv6.
 */
export function parseIpAddress(text: string): IpAddressValue | undefined {
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const v4 = dottedValue(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const address = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  if (!isIPv6(address)) return undefined;
  const mapped = MAPPED_IPV4.exec(address);
  if (mapped) {
    const value = dottedValue(mapped[1]!);
    return value === undefined ? undefined : { family: 4, value };
  }
  const value = ipv6TextValue(address);
  if (value === undefined) return undefined;
  // ::ffff:0:0/96 written in hex groups is IPv4-mapped too.
  if (value >> 32n === 0xffffn) return { family: 4, value: Number(value & 0xffffffffn) };
  return { family: 6, value };
}

/**
 * Parses `a.b.c.d/n`, `x:y::/n` or a single address (a /32 or /128). Host bits must be zero, so a
 * typo such as `10.0.0.1/8` is reported instead of silently widened. IPv4-mapped IPv6 ranges of /96 or
 * longer become the IPv4 range they denote.
 */
export function parseIpRange(input: string): IpRange {
  const text = typeof input === 'string' ? input.trim() : '';
  if (text === '' || text.length > 64) throw new IpRangeSyntaxError(String(input), 'empty or too long');
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const bitsText = slash === -1 ? undefined : text.slice(slash + 1);
  const dotted = DOTTED_QUAD.exec(addressText);
  if (dotted && dotted.slice(1).every((octet) => Number(octet) <= 255)) {
    // Fast path for the common case (large IPv4 lists): no generic parser needed.
    return ipv4Range(text, new ipaddr.IPv4(dotted.slice(1).map(Number)), bitsText);
  }
  if (!ipaddr.isValid(addressText) || addressText.includes('%')) {
    throw new IpRangeSyntaxError(text, `"${text}": "${addressText}" is not an IPv4 or IPv6 address`);
  }
  let address = ipaddr.parse(addressText);
  // ipaddr accepts legacy IPv4 forms (0x0a.1, 10.1, 012.0.0.1); ranges must be dotted-quad decimal.
  if (address.kind() === 'ipv4' && !ipaddr.IPv4.isValidFourPartDecimal(addressText)) {
    throw new IpRangeSyntaxError(text, `"${text}": write IPv4 addresses as four decimal parts (a.b.c.d)`);
  }
  if (address.kind() === 'ipv4') return ipv4Range(text, address as ipaddr.IPv4, bitsText);
  let bits = prefixLength(text, bitsText, 128);
  if ((address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    address = (address as ipaddr.IPv6).toIPv4Address();
    bits -= 96;
    return ipv4Range(text, address as ipaddr.IPv4, String(bits));
  }
  const value = ipv6Value(address as ipaddr.IPv6);
  const hostMask = (1n << BigInt(128 - bits)) - 1n;
  if ((value & hostMask) !== 0n) {
    const network = ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`);
    throw new IpRangeSyntaxError(text, `"${text}": host bits are set; did you mean ${network}/${bits}?`);
  }
  return { family: 6, first: value, last: value | hostMask };
}

const DOTTED_QUAD = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

function prefixLength(text: string, bitsText: string | undefined, maxBits: number): number {
  if (bitsText === undefined) return maxBits;
  if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > maxBits) {
    throw new IpRangeSyntaxError(
      text,
      `"${text}": the prefix length must be an integer from 0 to ${maxBits}`,
    );
  }
  return Number(bitsText);
}

function ipv4Range(text: string, address: ipaddr.IPv4, bitsText: string | undefined): IpRange {
  const bits = prefixLength(text, bitsText, 32);
  const value = ipv4Value(address);
  const size = 2 ** (32 - bits);
  if (value % size !== 0) {
    const network = ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`);
    throw new IpRangeSyntaxError(text, `"${text}": host bits are set; did you mean ${network}/${bits}?`);
  }
  return { family: 4, first: value, last: value + size - 1 };
}

/** Disjoint segments of one family: `starts[i]` begins segment i, which ends where segment i+1 begins. */
interface SegmentTable<V extends number | bigint> {
  starts: V[];
  keys: (readonly string[])[];
}

const NONE: readonly string[] = Object.freeze([]);

function buildSegments<V extends number | bigint>(
  ranges: { key: string; first: V; last: V }[],
  max: V,
): SegmentTable<V> {
  // Boundary events sorted by address (no Map keyed by bigint: V8 hashes bigints poorly).
  const events: { point: V; key: string; delta: 1 | -1 }[] = [];
  for (const { key, first, last } of ranges) {
    events.push({ point: first, key, delta: 1 });
    if (last !== max) {
      const after = (typeof last === 'bigint' ? last + 1n : (last as number) + 1) as V;
      events.push({ point: after, key, delta: -1 });
    }
  }
  events.sort((a, b) => (a.point < b.point ? -1 : a.point > b.point ? 1 : 0));
  const counts = new Map<string, number>();
  const interned = new Map<string, readonly string[]>();
  const table: SegmentTable<V> = { starts: [], keys: [] };
  for (let i = 0; i < events.length; ) {
    const point = events[i]!.point;
    for (; i < events.length && events[i]!.point === point; i++) {
      const { key, delta } = events[i]!;
      const count = (counts.get(key) ?? 0) + delta;
      if (count === 0) counts.delete(key);
      else counts.set(key, count);
    }
    const active = [...counts.keys()].sort();
    const id = active.join('\u0000');
    let keys = interned.get(id);
    if (!keys) {
      keys = active.length === 0 ? NONE : Object.freeze(active);
      interned.set(id, keys);
    }
    // Adjacent segments with the same keys are one segment.
    if (table.keys.length > 0 && table.keys[table.keys.length - 1] === keys) continue;
    table.starts.push(point);
    table.keys.push(keys);
  }
  return table;
}

function findSegment<V extends number | bigint>(table: SegmentTable<V>, value: V): readonly string[] {
  const { starts } = table;
  let low = 0;
  let high = starts.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (starts[middle]! <= value) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found === -1 ? NONE : table.keys[found]!;
}

export class IpRangeIndex {
  readonly #v4: SegmentTable<number>;
  readonly #v6: SegmentTable<bigint>;
  /** How many ranges were indexed. */
  readonly size: number;

  private constructor(v4: SegmentTable<number>, v6: SegmentTable<bigint>, size: number) {
    this.#v4 = v4;
    this.#v6 = v6;
    this.size = size;
  }

  /** Indexes each key's ranges. Ranges may overlap, within one key and across keys. */
  static build(entries: Iterable<{ key: string; ranges: Iterable<IpRange> }>): IpRangeIndex {
    const v4: { key: string; first: number; last: number }[] = [];
    const v6: { key: string; first: bigint; last: bigint }[] = [];
    for (const { key, ranges } of entries) {
      for (const range of ranges) {
        if (range.family === 4) v4.push({ key, first: range.first, last: range.last });
        else v6.push({ key, first: range.first, last: range.last });
      }
    }
    return new IpRangeIndex(buildSegments(v4, IPV4_MAX), buildSegments(v6, IPV6_MAX), v4.length + v6.length);
  }

  /** The keys whose ranges contain the address, sorted; empty for an unparsable address. */
  lookup(address: string | IpAddressValue): readonly string[] {
    const parsed = typeof address === 'string' ? parseIpAddress(address) : address;
    if (!parsed) return NONE;
    return parsed.family === 4 ? findSegment(this.#v4, parsed.value) : findSegment(this.#v6, parsed.value);
  }
}
