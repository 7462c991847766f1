/**
 * A `fetch` whose connections leave from a chosen local address (127.0.0.2, ...): Linux routes all of
 * 127.0.0.0/8 to the loopback interface, so tests get real, distinct client IPs without proxy headers.
 * Built on node:http (the global fetch cannot bind its socket). Not exported from the package.
 */
import { request } from 'node:http';
import { createServer } from 'node:net';

export function fetchFrom(localAddress: string): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init?.headers);
    const body = init?.body === undefined || init.body === null ? undefined : String(init.body);
    return new Promise<Response>((resolve, reject) => {
      const outgoing = request(
        url,
        { method: init?.method ?? 'GET', headers: Object.fromEntries(headers), localAddress },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('error', reject);
          incoming.on('end', () => {
            const pairs: [string, string][] = [];
            for (let index = 0; index < incoming.rawHeaders.length; index += 2)
              pairs.push([incoming.rawHeaders[index] as string, incoming.rawHeaders[index + 1] as string]);
            const status = incoming.statusCode ?? 500;
            const payload = status === 204 || status === 304 ? null : Buffer.concat(chunks);
            resolve(new Response(payload, { status, headers: pairs }));
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  };
}

/** Whether this machine can use `address` as a source address (Linux: all of 127/8; elsewhere maybe not). */
export async function canBind(address: string): Promise<boolean> {
  const server = createServer();
  return new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, address, () => server.close(() => resolve(true)));
  });
}
