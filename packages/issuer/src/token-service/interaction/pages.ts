/**
 * The sign-in pages: plain HTML forms, labelled fields, errors announced with role="alert", no
 * script. Served with a Content-Security-Policy that allows nothing but this page's own style block.
 */
import { createHash } from 'node:crypto';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
label{display:block;margin-top:1rem;font-weight:600}
input{display:block;width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;margin-top:.25rem}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem}
.alert{border:2px solid #b00020;padding:.5rem;color:#b00020}
code{word-break:break-all;background:#f3f3f3;padding:.1rem .25rem}`;

export const PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · OpenCAE</title><style>${STYLE}</style></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
${body}
</main></body></html>`;
}

function alert(message: string | undefined): string {
  return message ? `<p class="alert" role="alert" id="form-error">${escapeHtml(message)}</p>` : '';
}

const describedBy = (message: string | undefined) =>
  message ? ' aria-describedby="form-error" aria-invalid="true"' : '';

export interface PageContext {
  action: string;
  csrf: string;
  clientName: string;
  error?: string;
}

export function signInPage(page: PageContext & { username?: string }): string {
  return layout(
    'Sign in',
    `<p>to continue to <strong>${escapeHtml(page.clientName)}</strong></p>
${alert(page.error)}
<form method="post" action="${escapeHtml(page.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(page.csrf)}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required autofocus value="${escapeHtml(page.username ?? '')}"${describedBy(page.error)}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${describedBy(page.error)}>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function totpPage(page: PageContext): string {
  return layout(
    'Verification code',
    `<p>Enter the 6-digit code from your authenticator app.</p>
${alert(page.error)}
<form method="post" action="${escapeHtml(page.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(page.csrf)}">
<label for="code">Code</label>
<input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9 ]{6,7}" maxlength="7" autocomplete="one-time-code" required autofocus${describedBy(page.error)}>
<button type="submit">Verify</button>
</form>`,
  );
}

export function enrollPage(page: PageContext & { secret: string; otpauthUri: string }): string {
  return layout(
    'Set up two-step verification',
    `<p>Your administrator requires a second factor. Add this account to an authenticator app, then enter the code it shows.</p>
<p>Secret key: <code id="secret">${escapeHtml(page.secret)}</code></p>
<p>Or open this link on a device with an authenticator app: <a href="${escapeHtml(page.otpauthUri)}"><code>${escapeHtml(page.otpauthUri)}</code></a></p>
${alert(page.error)}
<form method="post" action="${escapeHtml(page.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(page.csrf)}">
<label for="code">Code from the app</label>
<input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9 ]{6,7}" maxlength="7" autocomplete="one-time-code" required autofocus${describedBy(page.error)}>
<button type="submit">Confirm</button>
</form>`,
  );
}

export function messagePage(title: string, message: string): string {
  return layout(title, `<p role="alert">${escapeHtml(message)}</p>`);
}

/**
 * oidc-provider's sign-out confirmation (RP-initiated logout): `form` is its form with the anti-forgery
 * field; the buttons submit it, "Sign out" with logout=yes (the whole issuer session ends).
 */
export function signOutPage(form: string): string {
  return layout(
    'Sign out',
    `<p>Sign out of OpenCAE in this browser? Applications using this sign-in will have to sign you in again.</p>
${form}
<button autofocus type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>
<button type="submit" form="op.logoutForm">Stay signed in</button>`,
  );
}
