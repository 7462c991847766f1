/**
 * A scripted user at the issuer's own sign-in page: follows the issuer's redirects with a cookie jar,
 * fills the first HTML form with username and password, posts it, and stops at the redirect back to
 * the application (the authorization response). No shortcut past the real page.
 */
import { CliError } from '../errors.js';

export class ScriptedSignIn {
  readonly #cookies = new Map<string, string>();
  readonly #origin: string;

  constructor(issuerUrl: string) {
    this.#origin = new URL(issuerUrl).origin;
  }

  /**
   * Opens the authorize URL, signs in when asked. Returns the redirect to the application and whether
   * the sign-in form was shown (false: an existing session answered). With response_mode=form_post
   * the response is a form the browser posts to the application: `redirect` is its action and
   * `formPost` its fields.
   */
  async signIn(
    authorizeUrl: URL,
    username: string,
    password: string,
  ): Promise<{ redirect: URL; prompted: boolean; formPost?: Record<string, string> }> {
    const page = await this.#follow(authorizeUrl, 'GET');
    if (page.redirect) return { redirect: page.redirect, prompted: false };
    const answered = this.#formPost(page);
    if (answered) return { ...answered, prompted: false };
    const form = firstForm(page.html);
    const after = await this.#follow(new URL(form.action, page.url), 'POST', {
      ...form.fields,
      username,
      password,
    });
    const posted = this.#formPost(after);
    if (posted) return { ...posted, prompted: true };
    if (!after.redirect) {
      const alert = /role="alert"[^>]*>([\s\S]*?)</.exec(after.html)?.[1]?.trim();
      throw new CliError(`the sign-in page did not let ${username} in${alert ? `: ${alert}` : ''}`);
    }
    return { redirect: after.redirect, prompted: true };
  }

  /** A form_post authorization response: a form whose action is the application, not the issuer. */
  #formPost(page: {
    url: URL;
    html: string;
  }): { redirect: URL; formPost: Record<string, string> } | undefined {
    if (!/<form[^>]*method="post"/i.test(page.html)) return undefined;
    const form = firstForm(page.html);
    const action = new URL(form.action, page.url);
    if (action.origin === this.#origin) return undefined;
    return { redirect: action, formPost: form.fields };
  }

  async #follow(
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
        signal: AbortSignal.timeout(30_000),
      });
      for (const cookie of response.headers.getSetCookie()) this.#keep(cookie);
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
    throw new CliError('too many redirects at the sign-in page');
  }

  #keep(header: string): void {
    const pair = header.split(';')[0] ?? '';
    const index = pair.indexOf('=');
    if (index <= 0) return;
    const name = pair.slice(0, index).trim();
    const value = pair.slice(index + 1).trim();
    if (value === '' || /expires=Thu, 01 Jan 1970/i.test(header)) this.#cookies.delete(name);
    else this.#cookies.set(name, value);
  }
}

function decodeEntities(value: string): string {
  return value
    .replace(/&#(\d+);/g, (_match, code: string) => String.fromCharCode(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_match, code: string) => String.fromCharCode(Number.parseInt(code, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The first form's action and its inputs that carry a value (hidden fields such as the interaction id). */
function firstForm(html: string): { action: string; fields: Record<string, string> } {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new CliError(`no form on the sign-in page: ${html.slice(0, 200)}`);
  const fields: Record<string, string> = {};
  for (const input of (form[2] ?? '').matchAll(/<input([^>]*)>/gi)) {
    const attributes = input[1] ?? '';
    const name = /name="([^"]*)"/.exec(attributes)?.[1];
    const value = /value="([^"]*)"/.exec(attributes)?.[1];
    if (name && value !== undefined) fields[name] = decodeEntities(value);
  }
  return { action: decodeEntities(form[1] ?? ''), fields };
}
