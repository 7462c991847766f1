/**
 * Where the secrets key ring comes from. Configured (OPENCAE_SECRETS_KEY, --secrets-key-file,
 * `secretsKeys`) wins. Otherwise an embedded store keeps its key beside the database, in
 * `<dataDir>/secrets.key` (mode 0600, created on first start), and an in-memory store gets a key for
 * the life of the process. A PostgreSQL store gets no invented key: replicas must share one, and a
 * key made up by one replica would lock the others out of the secrets it writes.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  newSecretKeyEntry,
  parseSecretKeyRing,
  SECRET_KEY_BYTES,
  SecretBox,
  SecretsKeyConfigError,
} from './secret-box.js';

export const SECRETS_KEY_FILE = 'secrets.key';

export type SecretsKeySource = 'config' | 'file' | 'memory' | 'none';

export interface ResolvedSecretBox {
  box: SecretBox;
  source: SecretsKeySource;
  /** The key file, when the key came from (or was written to) the data folder. */
  file?: string;
}

export async function resolveSecretBox(options: {
  secretsKeys?: string | undefined;
  engine: 'pglite' | 'postgres';
  dataDir: string;
}): Promise<ResolvedSecretBox> {
  if (options.secretsKeys !== undefined)
    return { box: new SecretBox(parseSecretKeyRing(options.secretsKeys)), source: 'config' };
  if (options.engine === 'postgres') return { box: SecretBox.plaintext(), source: 'none' };
  if (options.dataDir.startsWith('memory://'))
    return {
      box: new SecretBox([{ id: 'memory', key: randomBytes(SECRET_KEY_BYTES) }]),
      source: 'memory',
    };
  const file = join(options.dataDir, SECRETS_KEY_FILE);
  return { box: new SecretBox(parseKeyFile(await ensureKeyFile(file), file)), source: 'file', file };
}

/** Reads the key file, creating it first when missing. Never overwrites one. */
async function ensureKeyFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
  // Written whole to a temporary file, then linked: a crash never leaves a half-written key, and a
  // concurrent first start keeps the key that was linked first.
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${newSecretKeyEntry()}\n`, { mode: 0o600, flag: 'w' });
  try {
    await link(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(temporary, { force: true });
  }
  return readFile(file, 'utf8');
}

function parseKeyFile(text: string, file: string): ReturnType<typeof parseSecretKeyRing> {
  try {
    return parseSecretKeyRing(text.trim());
  } catch (error) {
    throw new SecretsKeyConfigError(`${file}: ${(error as Error).message}`);
  }
}
