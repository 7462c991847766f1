/**
 * A scripted user at the issuer's sign-in page: a cookie jar, redirects followed on the issuer's
 * origin, the first HTML form filled in and posted. It stops at the redirect back to the app and
 * returns that URL (the authorization response).
 */
export class SignInBrowser {
  readonly #cookies = new Map<string, string>();
  readonly #origin: string;

  constructor(issuerUrl: string) {
    this.#origin = new URL(issuerUrl).origin;
  }

  /**
   * Opens the authorize URL and, when the issuer asks, signs in with username and password. Returns the
   * redirect to the app and whether the sign-in form was shown (false: an existing session answered).
   */
  async signIn(
    authorizeUrl: URL,
    username: string,
    password: string,
  ): Promise<{ redirect: URL; prompted: boolean }> {
    const page = await this.#open(authorizeUrl, 'GET');
    if (page.redirect) return { redirect: page.redirect, prompted: false };
    const form = firstForm(page.html);
    const after = await this.#open(new URL(form.action, page.url), 'POST', {
      ...form.fields,
      username,
      password,
    });
    if (!after.redirect) throw new Error(`sign-in did not return to the app: ${after.html.slice(0, 400)}`);
    return { redirect: after.redirect, prompted: true };
  }

  async #open(
    start: URL,
    startMethod: 'GET' | 'POST',
    form?: Record<string, string>,
  ): Promise<{ url: URL; html: string; redirect?: URL }> {
    let url = start;
    let method = startMethod;
    let body = form ? new URLSearchParams(form).toString() : undefined;
    for (let hop = 0; hop < 20; hop++) {
      const response = await fetch(url, {
        method,
        redirect: 'manual',
        headers: {
          cookie: [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; '),
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(body ? { body } : {}),
      });
      for (const cookie of response.headers.getSetCookie()) this.#remember(cookie);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        const next = new URL(location, url);
        if (next.origin !== this.#origin) return { url, html: '', redirect: next };
        url = next;
        method = 'GET';
        body = undefined;
        continue;
      }
      return { url, html: await response.text() };
    }
    throw new Error('too many redirects at the sign-in page');
  }

  #remember(header: string): void {
    const pair = header.split(';')[0] ?? '';
    const index = pair.indexOf('=');
    if (index <= 0) return;
    const name = pair.slice(0, index).trim();
    const value = pair.slice(index + 1).trim();
    if (value === '' || /expires=Thu, 01 Jan 1970/i.test(header)) this.#cookies.delete(name);
    else this.#cookies.set(name, value);
  }
}

const decodeEntities = (value: string) =>
  value
    .replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)))
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');

function firstForm(html: string): { action: string; fields: Record<string, string> } {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no form on the sign-in page: ${html.slice(0, 400)}`);
  const fields: Record<string, string> = {};
  for (const input of (form[2] ?? '').matchAll(/<input([^>]*)>/gi)) {
    const attributes = input[1] ?? '';
    const name = /name="([^"]*)"/.exec(attributes)?.[1];
    const value = /value="([^"]*)"/.exec(attributes)?.[1];
    if (name && value !== undefined) fields[name] = decodeEntities(value);
  }
  return { action: decodeEntities(form[1] ?? ''), fields };
}
