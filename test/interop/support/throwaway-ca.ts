/**
 * A certificate authority that exists for one test run: the openssl CLI makes a CA and a server
 * certificate for localhost / 127.0.0.1 signed by it, in a temporary folder. A client trusts it the
 * way an operator would make Node trust a private CA: NODE_EXTRA_CA_CERTS=<ca.pem>.
 */
import { execFile } from 'node:child_process';
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
