/**
 * The console end to end in headless Chromium: a real issuer (all modules, PGlite in a temp folder),
 * the built console, an administrator signing in through the real sign-in page (code + PKCE), creating
 * an API and an application, disabling a user, then seeing the event and its delivery to a push
 * receiver in the overview and the refusal in the sign-in log. Takes screenshots; writes them to
 * docs/images/ with OPENCAE_UPDATE_SCREENSHOTS=1.
 *
 * Without a browser the suite is skipped with a warning; in CI (OPENCAE_REQUIRE_SERVICES=1) that fails.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMINISTRATORS_GROUP,
  addGroupMember,
  createIssuer,
  createUser,
  type Issuer,
} from '../../packages/issuer/src/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CONSOLE_DIR = join(ROOT, 'packages/console');
// The screenshots in docs/images are rewritten only on request, so a test run leaves the clone clean.
const IMAGES =
  process.env.OPENCAE_UPDATE_SCREENSHOTS === '1'
    ? join(ROOT, 'docs/images')
    : mkdtempSync(join(tmpdir(), 'opencae-console-screenshots-'));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const required = process.env.OPENCAE_REQUIRE_SERVICES === '1';
const RISC_DISABLED = 'https://schemas.openid.net/secevent/risc/event-type/account-disabled';

const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser) {
  if (required)
    throw new Error(`Chromium is required (OPENCAE_REQUIRE_SERVICES=1) but ${CHROMIUM} does not exist`);
  console.warn(
    `\n  SKIPPED: console browser tests — no Chromium at ${CHROMIUM} (apt-get install chromium).\n`,
  );
}

async function freePort(): Promise<number> {
  // The issuer URL (the browser's origin and the token `iss`) must be known before listening.
  const server = createNetServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** A push receiver (RFC 8935) that accepts every SET and remembers its event types. */
async function startReceiver(): Promise<{ url: string; events: string[]; server: Server }> {
  const events: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const payload = Buffer.concat(chunks).toString('utf8').split('.')[1] ?? '';
      try {
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { events?: object };
        events.push(...Object.keys(claims.events ?? {}));
      } catch {
        // not a SET: still answered below
      }
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/events`, events, server };
}

async function clientCredentials(
  issuer: string,
  clientId: string,
  secret: string,
  scope: string,
): Promise<string> {
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`token request failed: ${JSON.stringify(body)}`);
  return body.access_token;
}

async function json(url: string, token: string, method: string, body?: unknown): Promise<any> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = await response.json();
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(parsed)}`);
  return parsed;
}

/** playwright-core has no test matchers: wait for the state, then assert with vitest. */
const visible = (locator: Locator) => locator.first().waitFor({ state: 'visible', timeout: 10_000 });
const hasText = async (locator: Locator, text: string | RegExp) => {
  const content = expect.poll(async () => (await locator.first().textContent({ timeout: 10_000 })) ?? '', {
    timeout: 10_000,
  });
  await (typeof text === 'string' ? content.toContain(text) : content.toMatch(text));
};

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(IMAGES, `console-${name}.png`), fullPage: true });

describe.skipIf(!haveBrowser)('console in Chromium', { timeout: 90_000 }, () => {
  let dataDir: string;
  let issuer: Issuer;
  let url: string;
  let browser: Browser;
  let page: Page;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    // Always build (about a second): the test must run the console as it is in the tree, never a stale build.
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'],
      {
        cwd: CONSOLE_DIR,
        stdio: 'inherit',
        // vitest sets NODE_ENV=test, which would give React's development build.
        env: { ...process.env, NODE_ENV: 'production' },
      },
    );
    dataDir = await mkdtemp(join(tmpdir(), 'opencae-console-browser-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    issuer = await createIssuer({ issuerUrl: url, port, host: '127.0.0.1', dataDir, devMode: true });
    await issuer.listen();
    await createUser(
      { db: issuer.context.db, issuer: url, actor: 'test' },
      { username: 'admin', password: 'correct horse battery', displayName: 'Ada Admin' },
    );
    // Only administrators get the console's delegated `admin` scope.
    await addGroupMember(
      { db: issuer.context.db, issuer: url, actor: 'test' },
      ADMINISTRATORS_GROUP,
      'admin',
    );
    await createUser(
      { db: issuer.context.db, issuer: url, actor: 'test' },
      { username: 'alice', password: 'alice password 1', displayName: 'Alice', email: 'alice@example.com' },
    );

    // A resource's receiver: an application allowed to manage streams, and a push stream to it.
    receiver = await startReceiver();
    const admin = JSON.parse(await readFile(join(dataDir, 'admin.json'), 'utf8')) as {
      client_id: string;
      client_secret: string;
    };
    const adminToken = await clientCredentials(
      url,
      admin.client_id,
      admin.client_secret,
      'urn:opencae:admin/.default',
    );
    const receiverApp = await json(`${url}/admin/v1/applications`, adminToken, 'POST', {
      name: 'Orders API receiver',
      ssf_receiver: true,
    });
    const ssfToken = await clientCredentials(
      url,
      receiverApp.application.client_id,
      receiverApp.client_secret.value,
      'urn:opencae:ssf/.default',
    );
    await json(`${url}/ssf/streams`, ssfToken, 'POST', {
      delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: receiver.url },
      events_requested: [RISC_DISABLED],
      description: 'Orders API',
    });

    await mkdir(IMAGES, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await issuer?.close();
    await new Promise<void>((done) => (receiver ? receiver.server.close(() => done()) : done()));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('signs an administrator in through the issuer sign-in page (code + PKCE)', async () => {
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`${url}/console`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await visible(page.getByRole('heading', { level: 1, name: 'Overview' }));
    expect(new URL(page.url()).search).toBe('');
    await visible(page.getByRole('button', { name: 'Sign out' }));
    // The strict CSP let the app run: no violation was reported.
    expect(errors.filter((text) => /Content Security Policy/i.test(text))).toEqual([]);
  });

  it('creates an API and an application', async () => {
    await page.getByRole('link', { name: 'APIs' }).click();
    await visible(page.getByRole('heading', { level: 1, name: 'APIs' }));
    await page.getByLabel('Audience').fill('api://orders');
    await page.getByLabel('Name', { exact: true }).fill('Orders API');
    await page.getByLabel('App roles').fill('orders.read');
    await page.getByRole('button', { name: 'Register API' }).click();
    await hasText(page.getByRole('status'), 'API api://orders registered');
    expect(await page.getByRole('checkbox', { name: 'CAE for api://orders' }).isChecked()).toBe(true);
    await shot(page, 'apis');

    await page.getByRole('link', { name: 'Applications' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Orders daemon');
    await page.getByLabel('Grant access to API').fill('api://orders');
    await page.getByLabel('App roles on that API').fill('orders.read');
    await page.getByRole('button', { name: 'Register application' }).click();
    await hasText(page.getByRole('status'), 'Application Orders daemon registered');
    await visible(page.getByText('copy it now, it is not shown again'));
    await visible(page.getByRole('cell', { name: /Orders daemon/ }));
    await shot(page, 'applications');
  });

  it('disables a user with one click and a confirmation', async () => {
    await page.getByRole('link', { name: 'Users' }).click();
    const row = page.getByRole('row', { name: /alice/ });
    await row.getByRole('button', { name: 'Disable' }).click();
    const dialog = page.getByRole('dialog', { name: 'Disable alice?' });
    await visible(dialog);
    await dialog.getByLabel('Reason (recorded in the audit log)').fill('left the company');
    await dialog.getByRole('button', { name: 'Disable' }).click();
    await hasText(page.getByRole('status'), 'alice: disabled; 1 security event(s).');
    await visible(row.getByText('disabled'));
    await shot(page, 'users');
  });

  it('shows the event and its delivery to the stream in the overview', async () => {
    await expect.poll(() => receiver.events.includes(RISC_DISABLED), { timeout: 15_000 }).toBe(true);
    await page.getByRole('link', { name: 'Overview' }).click();
    const events = page.getByRole('region', { name: 'Recent critical events' });
    await hasText(events.getByRole('row', { name: /account-disabled/ }), /Orders API: delivered in \d+ ms/);
    await visible(page.getByRole('img', { name: /account-disabled → Orders API: \d+ ms/ }));
    await hasText(
      page.getByRole('region', { name: 'Stream health' }).getByRole('row', { name: /Orders API/ }),
      'healthy',
    );
    await shot(page, 'overview');
  });

  it('shows the refusal in the sign-in log', async () => {
    // alice, now disabled, tries to sign in to the console in another browser.
    const other = await browser.newPage();
    await other.goto(`${url}/console/`);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByLabel('Username').fill('alice');
    await other.getByLabel('Password').fill('alice password 1');
    await other.getByRole('button', { name: 'Sign in' }).click();
    await hasText(other.getByRole('alert'), /disabled|access_denied/i);
    await other.close();

    const recorded = await issuer.context.db.selectFrom('sign_in_log').select('id').execute();
    if (recorded.length === 0) {
      // The token service records sign-ins once it is given the logs module's writer.
      const why = 'the token service does not record sign-ins yet (wire logsModule().signInLog() into it)';
      if (required) throw new Error(why);
      console.warn(`\n  SKIPPED: sign-in log assertion — ${why}.\n`);
      return;
    }
    await page.getByRole('link', { name: 'Sign-in logs' }).click();
    await page.getByLabel('Result').selectOption('failure');
    await page.getByLabel('Principal (id or name)').fill('alice');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const refusal = page
      .getByRole('region', { name: 'Sign-ins' })
      .getByRole('row', { name: /alice/ })
      .first();
    await hasText(refusal, 'failure');
    await refusal.getByRole('link').click();
    await visible(page.getByRole('heading', { name: 'Sign-in details' }));
    await shot(page, 'sign-ins');

    // The refused request's id, as its answer carried it (x-request-id), finds that request alone.
    const correlation = (await page.locator('dt:text-is("Correlation id") + dd').textContent()) ?? '';
    expect(correlation).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await page.getByLabel('Result').selectOption('');
    await page.getByLabel('Principal (id or name)').fill('');
    await page.getByLabel('Correlation id (x-request-id)').fill(correlation);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const rows = page.getByRole('region', { name: 'Sign-ins' }).getByRole('row');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2); // the header and the one sign-in
    await hasText(rows.nth(1), 'alice');
  });

  it('keeps working at phone width', async () => {
    // Same browser profile, new tab: the token lives in the tab's sessionStorage, the issuer session
    // cookie is shared, so signing in again needs no password.
    const phone = await page.context().newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${url}/console/`);
    await phone.getByRole('button', { name: 'Sign in' }).click();
    await visible(phone.getByRole('heading', { level: 1, name: 'Overview' }));
    expect(await phone.getByRole('navigation', { name: 'Console' }).isHidden()).toBe(true);
    await phone.getByRole('button', { name: 'Menu' }).click();
    await visible(phone.getByRole('link', { name: 'Streams' }));
    await phone.getByRole('link', { name: 'Streams' }).click();
    await visible(phone.getByRole('heading', { level: 1, name: 'Streams' }));
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await phone.goto(`${url}/console/#/overview`);
    await visible(phone.getByRole('heading', { level: 1, name: 'Overview' }));
    await phone.screenshot({ path: join(IMAGES, 'console-overview-phone.png'), fullPage: true });
    await phone.close();
  });

  it('moves keyboard focus to the page heading and shows it', async () => {
    await page.getByRole('link', { name: 'Conditional Access' }).click();
    const heading = page.getByRole('heading', { level: 1, name: 'Conditional Access policies' });
    await expect.poll(() => heading.evaluate((element) => element === document.activeElement)).toBe(true);
    await page.getByRole('button', { name: 'New policy' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Block risky users');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await hasText(page.getByRole('alert'), 'the policy has no effect');
    await page.getByLabel('Grant').selectOption('block');
    await page.getByLabel('Users to include').fill('All');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await hasText(page.getByRole('status'), 'Policy Block risky users saved');
    await visible(page.getByRole('cell', { name: /Block risky users/ }));
    await shot(page, 'policies');
    await page.getByRole('link', { name: 'Streams' }).click();
    await shot(page, 'streams');
  });
});
