/**
 * A TLS-terminating reverse proxy in front of the issuer, as nginx or a cloud load balancer would be:
 * HTTPS outside, plain HTTP to the issuer, X-Forwarded-For/-Proto/-Host set by the proxy (whatever the
 * client sent in them is dropped). It keeps a record of every request so a test can check what the
 * client library put on the wire.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** Path and query as the client sent them. */
  url: string;
  headers: IncomingHttpHeaders;
  /** Form fields of an application/x-www-form-urlencoded body. */
  form: Record<string, string>;
}

export interface TlsProxy {
  /** https://localhost:<port> */
  origin: string;
  port: number;
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

export async function startTlsProxy(o: {
  key: string;
  cert: string;
  /** Where the issuer listens, e.g. http://127.0.0.1:8080 */
  upstream: string;
  port?: number;
}): Promise<TlsProxy> {
  const upstream = new URL(o.upstream);
  const requests: ProxiedRequest[] = [];
  const server: Server = createServer({ key: o.key, cert: o.cert }, (incoming, outgoing) => {
    const chunks: Buffer[] = [];
    let size = 0;
    incoming.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) incoming.destroy();
      else chunks.push(chunk);
    });
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const isForm = (incoming.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
      requests.push({
        method: incoming.method ?? 'GET',
        url: incoming.url ?? '/',
        headers: incoming.headers,
        form: isForm ? Object.fromEntries(new URLSearchParams(body.toString('utf8'))) : {},
      });
      const headers: IncomingHttpHeaders = { ...incoming.headers };
      for (const name of Object.keys(headers)) if (name.startsWith('x-forwarded-')) delete headers[name];
      const forwarded = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: incoming.method,
          path: incoming.url,
          headers: {
            ...headers,
            'x-forwarded-for': incoming.socket.remoteAddress ?? '',
            'x-forwarded-proto': 'https',
            'x-forwarded-host': incoming.headers.host ?? '',
          },
        },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forwarded.on('error', () => {
        if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' });
        outgoing.end('bad gateway');
      });
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://localhost:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
