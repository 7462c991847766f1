/**
 * Certificates that exist for one test run, made by the openssl CLI in a temporary folder:
 * - a CA and a server certificate for localhost / 127.0.0.1 signed by it. A client trusts it the way an
 *   operator would make Node trust a private CA: NODE_EXTRA_CA_CERTS=<ca.pem>.
 * - a self-signed client certificate, as an Entra ID workload identity registers one.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ThrowawayCa {
  /** The CA certificate (PEM) a client must trust. */
  caFile: string;
  /** The server's key and certificate chain (PEM), for node:https. */
  key: string;
  cert: string;
  remove(): Promise<void>;
}

export async function createThrowawayCa(): Promise<ThrowawayCa> {
  const dir = await mkdtemp(join(tmpdir(), 'opencae-ca-'));
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  try {
    await openssl(
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-keyout', path('ca.key'), '-out', path('ca.pem'), '-days', '1'],
      ...['-subj', '/CN=OpenCAE throwaway test CA', '-addext', 'basicConstraints=critical,CA:TRUE'],
      ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    );
    await openssl(
      ...['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-keyout', path('server.key'), '-out', path('server.csr'), '-subj', '/CN=localhost'],
    );
    await writeFile(
      path('server.ext'),
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ].join('\n'),
    );
    await openssl(
      ...['x509', '-req', '-in', path('server.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca.key')],
      ...['-CAcreateserial', '-out', path('server.pem'), '-days', '1', '-extfile', path('server.ext')],
    );
    return {
      caFile: path('ca.pem'),
      key: await readFile(path('server.key'), 'utf8'),
      cert: await readFile(path('server.pem'), 'utf8'),
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export interface ClientCertificate {
  /** The private key (PKCS#8 PEM) the client signs its assertions with. */
  privateKey: string;
  /** The certificate (PEM) whose public key the application registers. */
  certificate: string;
  /** SHA-256 of the certificate's DER, in hex (what MSAL puts in x5t#S256). */
  thumbprintSha256: string;
}

export async function createClientCertificate(): Promise<ClientCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'opencae-cert-'));
  try {
    await run(
      'openssl',
      [
        ...[
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=OpenCAE test daemon',
        ],
        ...['-keyout', join(dir, 'client.key'), '-out', join(dir, 'client.pem')],
      ],
      { cwd: dir },
    );
    const certificate = await readFile(join(dir, 'client.pem'), 'utf8');
    return {
      privateKey: await readFile(join(dir, 'client.key'), 'utf8'),
      certificate,
      thumbprintSha256: new X509Certificate(certificate).fingerprint256.replaceAll(':', '').toLowerCase(),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
