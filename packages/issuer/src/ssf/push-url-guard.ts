/**
 * Server-side request forgery guard for push URLs. A receiver chooses the URL the issuer will POST to,
 * so without a guard any API client could make the issuer call its own network (databases, cloud
 * metadata at 169.254.169.254, admin ports). Rules:
 * - https only; http only to a loopback address in development mode; no credentials in the URL;
 * - every address the host resolves to must be public unicast, unless the allow-list permits it;
 * - the check runs again in the socket's DNS lookup at each push, so a DNS answer that changes after
 *   the stream was created (rebinding) cannot reach a refused address; redirects are never followed.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { SsfError } from './errors.js';

export interface PushUrlPolicy {
  devMode: boolean;
  allowList: readonly string[];
}

type ParsedAddress = ipaddr.IPv4 | ipaddr.IPv6;

interface CompiledPolicy {
  devMode: boolean;
  hostPatterns: string[];
  ranges: [ParsedAddress, number][];
}

export class PushUrlGuard {
  private readonly policy: CompiledPolicy;

  constructor(policy: PushUrlPolicy) {
    const hostPatterns: string[] = [];
    const ranges: [ParsedAddress, number][] = [];
    for (const entry of policy.allowList) {
      if (entry.includes('/')) {
        try {
          ranges.push(ipaddr.parseCIDR(entry));
        } catch {
          throw new TypeError(`SSF push allow-list: "${entry}" is not a valid CIDR range`);
        }
      } else {
        hostPatterns.push(entry.toLowerCase());
      }
    }
    this.policy = { devMode: policy.devMode, hostPatterns, ranges };
  }

  /** Checks the URL and what its host resolves to now; throws SsfError('push_url_refused'). */
  async check(rawUrl: string): Promise<URL> {
    const url = this.checkSyntax(rawUrl);
    const host = hostOf(url);
    const addresses = isIP(host)
      ? [host]
      : await new Promise<string[]>((resolve, reject) =>
          dnsLookup(host, { all: true }, (error, results) =>
            error
              ? reject(refused(`the host of the push URL cannot be resolved (${error.code ?? 'error'})`))
              : resolve(results.map((result) => result.address)),
          ),
        );
    for (const address of addresses) this.checkAddress(url, address);
    return url;
  }

  /** The static part of the check: scheme, credentials, host allow-list. */
  checkSyntax(rawUrl: string): URL {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      throw refused('the push URL is not a valid absolute URL');
    }
    if (url.username || url.password) throw refused('the push URL must not contain credentials');
    if (url.hash) throw refused('the push URL must not contain a fragment');
    const host = hostOf(url);
    if (url.protocol === 'http:') {
      if (!(this.policy.devMode && isLoopbackHost(host)))
        throw refused(
          'the push URL must use https (http is accepted only for loopback addresses in development mode)',
        );
    } else if (url.protocol !== 'https:') {
      throw refused('the push URL must use https');
    }
    if (this.policy.hostPatterns.length > 0 && !this.hostAllowListed(host) && !this.loopbackInDev(host)) {
      throw refused(`the push URL host ${host} is not in the transmitter's allow-list`);
    }
    return url;
  }

  /** Throws unless the address is one the URL may connect to. */
  checkAddress(url: URL, address: string): void {
    let parsed: ParsedAddress;
    try {
      parsed = ipaddr.process(address);
    } catch {
      throw refused(`the push URL host resolved to an unparsable address`);
    }
    if (this.policy.ranges.some(([base, bits]) => parsed.kind() === base.kind() && parsed.match(base, bits)))
      return;
    const range = parsed.range();
    if (range === 'unicast') return;
    if (range === 'loopback' && this.policy.devMode) return;
    const host = hostOf(url);
    // An explicitly allow-listed host may live on a private network, never on link-local/metadata ranges.
    if (
      this.hostAllowListed(host) &&
      (range === 'private' || range === 'uniqueLocal' || range === 'loopback')
    )
      return;
    throw refused(`the push URL host resolves to a ${range} address, which is not allowed`);
  }

  /** A `lookup` for http(s).request that applies checkAddress to what the socket will connect to. */
  lookupFor(url: URL) {
    return (
      hostname: string,
      options: { family?: number | string; all?: boolean },
      callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
    ): void => {
      dnsLookup(hostname, { all: true }, (error, results) => {
        if (error) return callback(error, '', 0);
        try {
          for (const result of results) this.checkAddress(url, result.address);
        } catch (refusal) {
          return callback(refusal as Error, '', 0);
        }
        if (options.all) return callback(null, results);
        const first = results[0];
        if (!first) return callback(new Error(`no address for ${hostname}`), '', 0);
        callback(null, first.address, first.family);
      });
    };
  }

  private hostAllowListed(host: string): boolean {
    const name = host.toLowerCase();
    return this.policy.hostPatterns.some((pattern) =>
      pattern.startsWith('*.')
        ? name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1
        : name === pattern,
    );
  }

  private loopbackInDev(host: string): boolean {
    return this.policy.devMode && isLoopbackHost(host);
  }
}

/** URL.hostname keeps IPv6 literals in brackets. */
function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (!isIP(host)) return false;
  return ipaddr.process(host).range() === 'loopback';
}

function refused(message: string): SsfError {
  return new SsfError('push_url_refused', message);
}
