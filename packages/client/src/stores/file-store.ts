import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TokenStore } from '../token-store.js';

/**
 * Tokens in a directory, one file per key, so a daemon keeps its tokens across restarts and several
 * processes can share them without a read-modify-write race. Files are written to a temporary name
 * with mode 0600 and renamed into place (atomic on POSIX), so a reader never sees half a token.
 * The directory is created with mode 0700.
 */
export class FileTokenStore implements TokenStore {
  readonly directory: string;
  readonly #now: () => number;

  constructor(options: { directory: string; now?: () => number }) {
    this.directory = options.directory;
    this.#now = options.now ?? Date.now;
  }

  // File names are a hash of the key: keys hold URLs and scopes, which are not valid file names.
  #path(key: string): string {
    return join(this.directory, `${createHash('sha256').update(key).digest('base64url')}.json`);
  }

  async get(key: string): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(this.#path(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let entry: unknown;
    try {
      entry = JSON.parse(text);
    } catch {
      return undefined; // a corrupt file is a cache miss, the next set replaces it
    }
    if (!isEntry(entry) || entry.key !== key) return undefined;
    if (this.#now() >= entry.expiresAt) {
      await this.delete(key);
      return undefined;
    }
    return entry.value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const target = this.#path(key);
    const temporary = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const entry = { key, value, expiresAt: this.#now() + ttlMs };
    try {
      await writeFile(temporary, JSON.stringify(entry), { mode: 0o600, flag: 'wx' });
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }
}

function isEntry(value: unknown): value is { key: string; value: string; expiresAt: number } {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    typeof entry.key === 'string' && typeof entry.value === 'string' && typeof entry.expiresAt === 'number'
  );
}
