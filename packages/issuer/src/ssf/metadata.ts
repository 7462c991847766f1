/** Transmitter metadata (SSF 1.0 §7) and where it is served. */
import { DELIVERY, type TransmitterMetadata } from '@opencae/protocol';

export const SSF_CONFIGURATION_PATH = '/.well-known/ssf-configuration';

/** Endpoint paths, relative to the issuer URL (which may itself have a path). */
export const SSF_PATHS = {
  streams: '/ssf/streams',
  status: '/ssf/status',
  addSubject: '/ssf/subjects/add',
  removeSubject: '/ssf/subjects/remove',
  verify: '/ssf/verify',
  poll: '/ssf/poll',
} as const;

/** The issuer URL's path ('' when none), under which the endpoints are mounted. */
export function issuerPath(issuer: string): string {
  const path = new URL(issuer).pathname.replace(/\/+$/, '');
  return path === '/' ? '' : path;
}

/**
 * Where receivers look for the metadata: `/.well-known/ssf-configuration` inserted between host and
 * path (SSF 1.0 §7.2), plus the plain form for issuers without a path.
 */
export function metadataPaths(issuer: string): string[] {
  const path = issuerPath(issuer);
  return path ? [`${SSF_CONFIGURATION_PATH}${path}`] : [SSF_CONFIGURATION_PATH];
}

export function transmitterMetadata(issuer: string, jwksUri: string): TransmitterMetadata {
  return {
    spec_version: '1_0',
    issuer,
    jwks_uri: jwksUri,
    delivery_methods_supported: [DELIVERY.push, DELIVERY.poll],
    configuration_endpoint: `${issuer}${SSF_PATHS.streams}`,
    status_endpoint: `${issuer}${SSF_PATHS.status}`,
    add_subject_endpoint: `${issuer}${SSF_PATHS.addSubject}`,
    remove_subject_endpoint: `${issuer}${SSF_PATHS.removeSubject}`,
    verification_endpoint: `${issuer}${SSF_PATHS.verify}`,
    authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6749' }],
    default_subjects: 'ALL',
  };
}
