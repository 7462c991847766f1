/** Deterministic secrets keys for tests: `<id>:<base64 of SHA-256(id)>`, so two suites' keys differ by id. */
import { createHash } from 'node:crypto';

export function testSecretsKey(id: string): string {
  return `${id}:${createHash('sha256').update(`opencae test key ${id}`).digest('base64')}`;
}
