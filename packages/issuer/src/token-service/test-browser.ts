/**
 * A minimal browser for the sign-in pages in tests: a cookie jar, manual redirects, and HTML form
 * parsing. Not exported from the package.
 */
export interface Page {
  status: number;
  url: string;
  html: string;
}

export interface Form {
  action: string;
  fields: Record<string, string>;
}

export class TestBrowser {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly baseUrl: string) {}

  /** Follows same-server redirects; stops at (and returns) a redirect to another origin. */
  async open(
    url: string,
    init: { method?: string; form?: Record<string, string> } = {},
  ): Promise<Page & { location?: string }> {
    let current = new URL(url, this.baseUrl);
    let method = init.method ?? 'GET';
    let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
    for (let hops = 0; hops < 20; hops++) {
      const response = await fetch(current, {
        method,
        redirect: 'manual',
        headers: {
          cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        body,
      });
      for (const header of response.headers.getSetCookie()) this.store(header);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        const next = new URL(location, current);
        if (next.origin !== new URL(this.baseUrl).origin) {
          return {
            status: response.status,
            url: current.href,
            html: await response.text(),
            location: next.href,
          };
        }
        current = next;
        method = 'GET';
        body = undefined;
        continue;
      }
      return { status: response.status, url: current.href, html: await response.text() };
    }
    throw new Error('too many redirects');
  }

  async submit(page: Page, values: Record<string, string>): Promise<Page & { location?: string }> {
    const form = parseForm(page.html);
    return this.open(new URL(form.action, page.url).href, {
      method: 'POST',
      form: { ...form.fields, ...values },
    });
  }

  private store(header: string): void {
    const [pair] = header.split(';');
    const index = pair?.indexOf('=') ?? -1;
    if (!pair || index <= 0) return;
    const name = pair.slice(0, index).trim();
    const value = pair.slice(index + 1).trim();
    if (/expires=Thu, 01 Jan 1970/i.test(header) || value === '') this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}

const decode = (value: string) =>
  value.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&');

/** The first form of the page: its action and its hidden/prefilled fields. */
export function parseForm(html: string): Form {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no form in page: ${html.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const input of (form[2] ?? '').matchAll(/<input([^>]*)>/gi)) {
    const attributes = input[1] ?? '';
    const name = /name="([^"]*)"/.exec(attributes)?.[1];
    const value = /value="([^"]*)"/.exec(attributes)?.[1];
    if (name && value !== undefined) fields[name] = decode(value);
  }
  return { action: decode(form[1] ?? ''), fields };
}
