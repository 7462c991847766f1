/**
 * Microsoft's MSAL for Node, unmodified, as a confidential client application would use it against an
 * OpenID Connect authority that is not Entra ID (protocolMode OIDC, the authority in knownAuthorities).
 * It runs in its own process so that Node trusts the test CA the standard way (NODE_EXTRA_CA_CERTS),
 * and answers JSON-line commands from the test on stdin/stdout, keeping MSAL's token cache between them.
 */
import { createInterface } from 'node:readline';
import {
  type AuthenticationResult,
  ConfidentialClientApplication,
  CryptoProvider,
  InteractionRequiredAuthError,
  ProtocolMode,
  PublicClientApplication,
} from '@azure/msal-node';
import { ScriptedSignIn } from '../../../packages/cli/src/demo/sign-in-page.js';

export interface AppOptions {
  clientId: string;
  /** A client secret, or a certificate (MSAL signs a PS256 client assertion with x5t#S256). */
  clientSecret?: string;
  certificate?: { thumbprintSha256: string; privateKey: string };
  /** MSAL's clientCapabilities, e.g. ['cp1']; [] for an app that is not CAE-capable. */
  capabilities: string[];
}

export type Command =
  | { op: 'clientCredentials'; app: AppOptions; scopes: string[]; claims?: string }
  | {
      op: 'signIn';
      app: AppOptions;
      scopes: string[];
      redirectUri: string;
      /** Scopes of other APIs to have granted at sign-in, for later silent requests. */
      extraScopesToConsent?: string[];
      username: string;
      password: string;
    }
  | {
      op: 'silent';
      app: AppOptions;
      scopes: string[];
      claims?: string;
      forceRefresh?: boolean;
      /** The public client application signed in by 'interactive' (default: the confidential one). */
      publicClient?: boolean;
    }
  /** A public client (desktop or CLI app): MSAL's loopback redirect, the browser scripted. */
  | { op: 'interactive'; app: AppOptions; scopes: string[]; username: string; password: string };

export interface TokenSummary {
  accessToken: string;
  expiresOn: number | null;
  refreshOn: number | null;
  fromCache: boolean;
  idTokenClaims: Record<string, unknown>;
  username: string | null;
}

export interface MsalFailure {
  name: string;
  errorCode: string;
  errorMessage: string;
  interactionRequired: boolean;
}

const authority = process.env.MSAL_AUTHORITY;
if (!authority) throw new Error('MSAL_AUTHORITY is not set');
const applications = new Map<string, ConfidentialClientApplication | PublicClientApplication>();

function configuration(o: AppOptions) {
  return {
    auth: {
      clientId: o.clientId,
      ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}),
      ...(o.certificate ? { clientCertificate: o.certificate } : {}),
      authority: authority as string,
      knownAuthorities: [new URL(authority as string).host],
      clientCapabilities: o.capabilities,
    },
    system: { protocolMode: ProtocolMode.OIDC },
  };
}

function cached<T extends ConfidentialClientApplication | PublicClientApplication>(
  o: AppOptions,
  kind: string,
  create: () => T,
): T {
  const key = `${kind}|${o.clientId}|${o.capabilities.join(',')}`;
  const app = (applications.get(key) as T | undefined) ?? create();
  applications.set(key, app);
  return app;
}

const application = (o: AppOptions) =>
  cached(o, 'confidential', () => new ConfidentialClientApplication(configuration(o)));
const publicApplication = (o: AppOptions) =>
  cached(o, 'public', () => new PublicClientApplication(configuration(o)));

function summary(result: AuthenticationResult | null): TokenSummary {
  if (!result) throw new Error('MSAL returned no result');
  return {
    accessToken: result.accessToken,
    expiresOn: result.expiresOn?.getTime() ?? null,
    refreshOn: result.refreshOn?.getTime() ?? null,
    fromCache: result.fromCache,
    idTokenClaims: result.idTokenClaims as Record<string, unknown>,
    username: result.account?.username ?? null,
  };
}

async function execute(command: Command): Promise<TokenSummary> {
  if (command.op === 'interactive') {
    const app = publicApplication(command.app);
    return summary(
      await app.acquireTokenInteractive({
        scopes: command.scopes,
        // The "browser": signs in at the issuer's page, then follows the redirect to MSAL's loopback server.
        openBrowser: async (url) => {
          const { redirect, formPost } = await new ScriptedSignIn(authority as string).signIn(
            new URL(url),
            command.username,
            command.password,
          );
          // MSAL asks for response_mode=form_post: the browser posts the response to the loopback.
          const delivered = await fetch(redirect, {
            method: formPost ? 'POST' : 'GET',
            ...(formPost ? { body: new URLSearchParams(formPost) } : {}),
          });
          await delivered.text();
        },
      }),
    );
  }
  if (command.op === 'silent') {
    const app = command.publicClient ? publicApplication(command.app) : application(command.app);
    const [account] = await app.getTokenCache().getAllAccounts();
    if (!account) throw new Error('MSAL has no account in its cache');
    return summary(
      await app.acquireTokenSilent({
        account,
        scopes: command.scopes,
        ...(command.claims ? { claims: command.claims } : {}),
        ...(command.forceRefresh ? { forceRefresh: true } : {}),
      }),
    );
  }
  const app = application(command.app);
  switch (command.op) {
    case 'clientCredentials':
      return summary(
        await app.acquireTokenByClientCredential({
          scopes: command.scopes,
          ...(command.claims ? { claims: command.claims } : {}),
        }),
      );
    case 'signIn': {
      const pkce = await new CryptoProvider().generatePkceCodes();
      const url = await app.getAuthCodeUrl({
        scopes: command.scopes,
        redirectUri: command.redirectUri,
        codeChallenge: pkce.challenge,
        codeChallengeMethod: 'S256',
        ...(command.extraScopesToConsent ? { extraScopesToConsent: command.extraScopesToConsent } : {}),
      });
      const { redirect } = await new ScriptedSignIn(authority as string).signIn(
        new URL(url),
        command.username,
        command.password,
      );
      const code = redirect.searchParams.get('code');
      if (!code) throw new Error(`the authorization response carries no code: ${redirect.href}`);
      return summary(
        await app.acquireTokenByCode({
          code,
          scopes: command.scopes,
          redirectUri: command.redirectUri,
          codeVerifier: pkce.verifier,
        }),
      );
    }
  }
}

function failure(error: unknown): MsalFailure {
  const e = error as { name?: string; errorCode?: string; errorMessage?: string; message?: string };
  return {
    name: e.name ?? 'Error',
    errorCode: e.errorCode ?? '',
    errorMessage: e.errorMessage ?? e.message ?? String(error),
    interactionRequired: error instanceof InteractionRequiredAuthError,
  };
}

for await (const line of createInterface({ input: process.stdin })) {
  const { id, command } = JSON.parse(line) as { id: number; command: Command };
  const answer = await execute(command).then(
    (result) => ({ id, result }),
    (error: unknown) => ({ id, failure: failure(error) }),
  );
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
