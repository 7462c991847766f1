import ipaddr from 'ipaddr.js';
import { ResourceConfigError } from './errors.js';
import { headerValues, type RequestHeaders } from './headers.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

/** Named groups of proxy addresses, as in Express's `trust proxy`. */
const NAMED_RANGES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/**
 * Socket peers repeat (keep-alive connections, a few proxies), and parsing one costs more than the rest
 * of a cached-token check: remember the last ones. Bounded: cleared when full.
 */
const PEER_MEMORY_SIZE = 1024;
const peers = new Map<string, { address: Address; text: string } | null>();

function parsePeer(remoteAddress: string): { address: Address; text: string } | undefined {
  const known = peers.get(remoteAddress); // one lookup: null remembers an unparseable peer
  if (known !== undefined) return known ?? undefined;
  const address = parseAddress(remoteAddress);
  const parsed = address ? { address, text: address.toString() } : null;
  if (peers.size >= PEER_MEMORY_SIZE) peers.clear();
  peers.set(remoteAddress, parsed);
  return parsed ?? undefined;
}

/** Parses an address, unwrapping IPv4-mapped IPv6 (`::ffff:1.2.3.4` is `1.2.3.4`); undefined when invalid. */
export function parseAddress(value: string): Address | undefined {
  try {
    return ipaddr.process(value);
  } catch {
    return undefined;
  }
}

/** The proxies whose forwarding headers are believed: addresses, CIDR ranges or the names above. */
export class TrustedProxies {
  readonly #ranges: Range[] = [];

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      for (const value of NAMED_RANGES[entry] ?? [entry]) this.#ranges.push(parseRange(value));
    }
  }

  get empty(): boolean {
    return this.#ranges.length === 0;
  }

  trusts(address: Address): boolean {
    for (const [network, bits] of this.#ranges) {
      if (network.kind() === address.kind() && address.match(network, bits)) return true;
    }
    return false;
  }
}

function parseRange(value: string): Range {
  try {
    if (value.includes('/')) {
      const [network, bits] = ipaddr.parseCIDR(value);
      // An IPv4-mapped range is an IPv4 range: addresses are compared after unwrapping.
      if (network.kind() === 'ipv6' && (network as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
        return [(network as ipaddr.IPv6).toIPv4Address(), bits - 96];
      }
      return [network, bits];
    }
    const address = ipaddr.process(value);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  } catch (cause) {
    throw new ResourceConfigError(
      `trustedProxies: "${value}" is not an IP address, a CIDR range or one of ${Object.keys(NAMED_RANGES).join(', ')}`,
      { cause },
    );
  }
}

export type ForwardedHeader = 'x-forwarded-for' | 'forwarded';

/** One hop of X-Forwarded-For (`1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`). */
function hopAddress(value: string): string {
  const hop = value.trim().replace(/^"|"$/g, '');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return bracketed[1]!;
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return withPort ? withPort[1]! : hop;
}

/** The hops a header lists, leftmost (the original client) first. */
function forwardedHops(headers: RequestHeaders, header: ForwardedHeader): string[] {
  const elements = headerValues(headers, header).flatMap((value) => value.split(','));
  if (header === 'x-forwarded-for') return elements.map(hopAddress).filter((hop) => hop !== '');
  // RFC 7239: Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8::1]:4711"
  return elements.map((element) => {
    for (const pair of element.split(';')) {
      const [name, ...rest] = pair.split('=');
      if (name?.trim().toLowerCase() === 'for') return hopAddress(rest.join('='));
    }
    return '';
  });
}

/**
 * The client's address. The socket's peer is the client unless it is a trusted proxy; then the
 * forwarding header is walked from the right (the hop that proxy added) while hops are trusted
 * proxies, and the first untrusted hop is the client. Anything a client writes itself sits to the
 * left of that hop and is never reached, so an untrusted peer cannot choose its address.
 * Returns undefined when the address cannot be known (no socket address, or a garbled hop).
 */
export function resolveClientIp(
  remoteAddress: string | undefined,
  headers: RequestHeaders,
  proxies: TrustedProxies,
  header: ForwardedHeader = 'x-forwarded-for',
): string | undefined {
  if (remoteAddress === undefined) return undefined;
  const peer = parsePeer(remoteAddress);
  if (peer === undefined) return undefined;
  if (proxies.empty || !proxies.trusts(peer.address)) return peer.text;
  let address: Address | undefined = peer.address;
  const hops = forwardedHops(headers, header);
  for (let i = hops.length - 1; i >= 0 && proxies.trusts(address); i--) {
    address = parseAddress(hops[i]!);
    if (address === undefined) return undefined;
  }
  return address.toString();
}
