/**
 * The built console (packages/console/dist) held in memory: a fixed map from URL path to file, so a
 * request can only ever name a file that the build produced (no path is joined from user input).
 * Vite names assets by content hash, so they are cached for a year; index.html is revalidated.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';

export interface StaticFile {
  body: Buffer;
  contentType: string;
  etag: string;
  /** Content-hashed by the build: safe to cache forever. */
  immutable: boolean;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

const MAX_FILES = 500;
const MAX_TOTAL_BYTES = 20 * 1024 * 1024;

/** Loads every file of the build; undefined when there is no build (no index.html). */
export async function loadConsoleBuild(distDir: string): Promise<Map<string, StaticFile> | undefined> {
  const index = await stat(join(distDir, 'index.html')).catch(() => undefined);
  if (!index?.isFile()) return undefined;
  const files = new Map<string, StaticFile>();
  let total = 0;
  for (const path of await listFiles(distDir)) {
    const type = CONTENT_TYPES[extname(path).toLowerCase()];
    if (!type) continue;
    const body = await readFile(path);
    total += body.length;
    if (files.size >= MAX_FILES || total > MAX_TOTAL_BYTES)
      throw new Error(`the console build in ${distDir} is unexpectedly large`);
    const urlPath = relative(distDir, path).split(sep).join('/');
    files.set(urlPath, {
      body,
      contentType: type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      immutable: urlPath.startsWith('assets/'),
    });
  }
  return files;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}
