/** Starts the example: `npx tsx --conditions=opencae-source examples/fastify-api/server.ts` (see README.md). */

import { configFromEnv } from '../shared/config.js';
import { createExampleApp } from './app.js';

const config = configFromEnv();
const example = await createExampleApp(config);
await example.app.listen({ port: config.port, host: '0.0.0.0' });
console.log(`CAE-enabled Fastify API on http://127.0.0.1:${config.port} (SSF ${config.delivery})`);
example.receiver.start();

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    example.app.close().finally(() => process.exit(0));
  });
}
