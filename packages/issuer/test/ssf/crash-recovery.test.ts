/**
 * The issuer is killed with SIGKILL right after admin actions commit, while their SETs are being
 * pushed; restarted on the same database, it delivers every event, and a receiver that de-duplicates
 * by jti ends up with each exactly once. Runs on PGlite (same data folder) and PostgreSQL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { DELIVERY, RISC } from '@opencae/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl } from '../../../../test/support/services.js';
import { call, freePort } from './issuer-harness.js';
import { discoverTransmitter, PushReceiver, SetValidator } from './spec-receiver.js';

const root = resolve(import.meta.dirname, '../../../..');
const fixture = join(import.meta.dirname, 'fixtures/issuer-process.ts');

const serverUrl = await postgresUrl();
const engines = [{ name: 'PGlite' }, ...(serverUrl ? [{ name: 'PostgreSQL' }] : [])];

function startIssuerProcess(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; token: string }> {
  // node itself with tsx as a loader (not the tsx CLI, which forks): SIGKILL must hit the issuer.
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=opencae-source', fixture], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  return new Promise((resolvePromise, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const message = JSON.parse(line);
        if (message.ready) resolvePromise({ child, url: message.url, token: message.token });
      } catch {
        // not ours
      }
    });
    child.once('exit', (code) => reject(new Error(`issuer process exited (${code}): ${stderr}`)));
  });
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolvePromise();
    child.once('exit', () => resolvePromise());
    child.kill('SIGKILL');
  });
}

describe.each(engines)('SSF delivery across a SIGKILL on $name', ({ name }) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('delivers every committed event exactly once (after de-duplication by jti)', {
    timeout: 120_000,
  }, async () => {
    const env: Record<string, string> = { ISSUER_PORT: String(await freePort()) };
    if (name === 'PostgreSQL' && serverUrl) {
      const database = await createTestDatabase(serverUrl);
      cleanups.push(database.drop);
      env.DATABASE_URL = database.url;
    } else {
      const dir = await mkdtemp(join(tmpdir(), 'opencae-ssf-crash-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      env.DATA_DIR = dir;
      env.DATABASE_URL = '';
    }
    const receiver = new PushReceiver();
    cleanups.push(() => receiver.close());
    const endpoint = await receiver.start();

    let issuer = await startIssuerProcess(env);
    cleanups.push(() => killHard(issuer.child));
    const metadata = await discoverTransmitter(issuer.url);
    receiver.validator = new SetValidator(issuer.url, metadata.jwks_uri!, 'crash-receiver');
    const created = await call(metadata.configuration_endpoint!, 'POST', '', issuer.token, {
      delivery: { method: DELIVERY.push, endpoint_url: endpoint },
      events_requested: [RISC.accountDisabled],
    });
    expect(created.status).toBe(201);

    // A slow receiver: the kill lands while SETs are queued and in flight. Its key cache starts cold:
    // a SET it holds when the transmitter dies cannot be checked until the keys can be fetched again,
    // so it answers 503 (not 400) and the restarted issuer delivers it again (this was a flake: the
    // harness counted such SETs as invalid).
    receiver.respond(...Array.from({ length: 30 }, () => ({ kind: 'delay' as const, ms: 100 })));
    receiver.validator = new SetValidator(issuer.url, metadata.jwks_uri!, 'crash-receiver');
    const committed = await call(`${issuer.url}/test/disable-users?count=30`, 'POST', '', undefined);
    const txns = (committed.body as { txns: string[] }).txns;
    expect(txns).toHaveLength(30);
    await killHard(issuer.child);
    const before = receiver.received.sets.length;
    expect(before).toBeLessThan(30);

    issuer = await startIssuerProcess(env);
    await receiver.received.waitFor(
      (sets) => txns.every((txn) => sets.some((set) => set.txn === txn)),
      60_000,
    );
    const perTxn = txns.map((txn) => receiver.received.sets.filter((set) => set.txn === txn).length);
    expect(perTxn.every((count) => count === 1)).toBe(true);
    expect(receiver.received.invalid).toEqual([]);
    await killHard(issuer.child);
  });
});
