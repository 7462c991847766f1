/** Starts the example: `npx tsx --conditions=opencae-source examples/express-api/server.ts` (see README.md). */

import { configFromEnv } from '../shared/config.js';
import { createExampleApp } from './app.js';

const config = configFromEnv();
const example = createExampleApp(config);
const server = example.app.listen(config.port, () => {
  console.log(`CAE-enabled Express API on http://127.0.0.1:${config.port} (SSF ${config.delivery})`);
});
example.receiver.start();

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    example.close().finally(() => process.exit(0));
  });
}
