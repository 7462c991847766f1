/**
 * The oidc-provider configuration of the token service. CAE is layered on through the provider's own
 * extension points, each delegating to a framework-free module:
 * - `getResourceServerInfo`: the API behind an audience, what the app was granted on it, and the
 *   lifetime decision (CAE or standard) for the token about to be minted;
 * - `findAccount`: current state of the user (and app) at every code / refresh-token redemption;
 * - `formats.customizers.jwt`: the access-token claims (oid, tid, idtyp, azp, scp|roles, sid, ipaddr,
 *   xms_cc, nbf) in `typ: at+jwt` JWTs;
 * - `claimsParameter.assertClaimsParameter`: size and satisfiability of the `claims` parameter.
 */
import { type ClaimsRequest, ClaimsRequestError, parseClaimsRequest } from '@opencae/protocol';
import type { JWK } from 'jose';
import {
  type Account,
  type Configuration,
  interactionPolicy,
  type KoaContextWithOIDC,
  type UnknownObject,
} from 'oidc-provider';
import type { ConditionalAccessService, IssuanceEvaluation } from '../conditional-access/service.js';
import type { IssuerConfig } from '../config.js';
import { SIGNING_ALG } from '../keys/signing-keys.js';
import type { Db } from '../storage/database.js';
import { decideLifetime, evaluateEssentialClaims, isCaeCapable } from './cae-rules.js';
import { ApplicationClientAdapter } from './client-registry.js';
import { applicationRefusal, issueSecond, userRefusal } from './current-state.js';
import type { ApplicationState, DirectoryReader } from './directory-reader.js';
import { TokenServiceError } from './errors.js';
import { messagePage, signOutPage } from './interaction/pages.js';
import {
  authorizationClaims,
  evaluateOnce,
  issuanceRefusal,
  mergeClaimsRequests,
  requestedAudiences,
  shapeToken,
  signInRequirement,
} from './issuance-policy.js';
import {
  interactionRequired,
  invalidClient,
  invalidGrant,
  invalidRequest,
  invalidScope,
  invalidTarget,
  toOAuthError,
} from './oauth-errors.js';
import { OidcModelAdapter } from './oidc-adapter.js';
import { applicationForRequest, requestStateOf } from './request-state.js';
import {
  applicationRoles,
  audiencesOf,
  delegatedScopes,
  grantableScopes,
  grantForUser,
  needsAdministrator,
} from './scopes.js';
import { SessionAdapter, type SignOuts } from './sign-out.js';

export const ROUTES = {
  authorization: '/authorize',
  token: '/token',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  jwks: '/jwks',
  userinfo: '/userinfo',
  end_session: '/session/end',
} as const;

export const INTERACTION_PATH = '/interaction';

export interface ProviderDependencies {
  config: IssuerConfig;
  db: Db;
  directory: DirectoryReader;
  /** Private JWKs, the active signing key first. */
  signingKeys: JWK[];
  cookieKeys: string[];
  /** Evaluated at every token request (and at sign-in for MFA). */
  conditionalAccess: ConditionalAccessService;
  /** Sessions being signed out right now (their removal emits CAEP session-revoked). */
  signOuts: SignOuts;
}

type Ctx = KoaContextWithOIDC;

/** Seconds since epoch → Date, for comparing a grant's sign-in time with state changes. */
const fromEpoch = (seconds: unknown): Date | undefined =>
  typeof seconds === 'number' ? new Date(seconds * 1000) : undefined;

/** When the grant behind a code or refresh token was established: the sign-in time of its session. */
function establishedAt(source: UnknownObject | undefined): Date | undefined {
  if (!source) return undefined;
  return fromEpoch(source.authTime) ?? fromEpoch(source.iiat) ?? fromEpoch(source.iat);
}

/** The code or refresh token a token request redeems (the rotated refresh token once rotated). */
function grantSource(ctx: Ctx): { claims?: ClaimsRequest; amr?: unknown; resource?: unknown } | undefined {
  return (ctx.oidc.entities.RefreshToken ?? ctx.oidc.entities.AuthorizationCode) as
    | { claims?: ClaimsRequest; amr?: unknown; resource?: unknown }
    | undefined;
}

/** The sign-in behind the redeemed code or refresh token included a second factor. */
function mfaDone(amr: unknown): boolean {
  return Array.isArray(amr) && amr.includes('otp');
}

/**
 * The API a code or refresh token redemption is for, known before oidc-provider resolves it (and before
 * it rotates the refresh token): the `resource` parameter, else the API named by `scope`, else the one
 * the grant was made for.
 */
function redeemedAudience(ctx: Ctx, token: UnknownObject): string | undefined {
  const resource = ctx.oidc.params?.resource;
  if (typeof resource === 'string') return resource;
  const named = audiencesOf(ctx.oidc.params?.scope as string | undefined);
  if (named.length === 1) return named[0];
  const bound = Array.isArray(token.resource) ? token.resource : [token.resource];
  return bound.length === 1 && typeof bound[0] === 'string' ? bound[0] : undefined;
}

export function buildProviderConfiguration(deps: ProviderDependencies): Configuration {
  const { config, db, directory } = deps;
  const activeKid = deps.signingKeys[0]?.kid;
  const clients = new ApplicationClientAdapter(directory);

  const applicationOf = (ctx: Ctx, clientId: string): Promise<ApplicationState | undefined> =>
    applicationForRequest(directory, clientId, requestStateOf(ctx));

  /** The claims that rule this token: the request's own `claims` over those remembered from authorization. */
  const effectiveClaims = (ctx: Ctx): ClaimsRequest | undefined =>
    mergeClaimsRequests(grantSource(ctx)?.claims ?? undefined, requestStateOf(ctx).claims);

  /**
   * Conditional Access for this token request and API (evaluated once, kept on the request state):
   * a block refuses the token, an MFA requirement the sign-in did not meet asks for a new sign-in.
   */
  const conditionalAccess = async (
    ctx: Ctx,
    audience: string,
    principal: { type: 'user' | 'servicePrincipal'; id: string },
  ): Promise<IssuanceEvaluation> => {
    const state = requestStateOf(ctx);
    const claims = effectiveClaims(ctx);
    const evaluation = await evaluateOnce(deps.conditionalAccess, state, {
      principal,
      audience,
      clientIp: state.ip || undefined,
      claims,
      cp1: isCaeCapable(claims),
      mfaDone: principal.type === 'user' && mfaDone(grantSource(ctx)?.amr),
    });
    const refusal = issuanceRefusal(evaluation);
    if (refusal?.kind === 'blocked') {
      state.blockedByConditionalAccess = true;
      throw invalidGrant(refusal.description);
    }
    if (refusal?.kind === 'mfaRequired') throw interactionRequired(refusal.description);
    return evaluation;
  };

  const accountState = new interactionPolicy.Check(
    'opencae_account_state',
    'the account must sign in again',
    async (ctx: Ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      if (!accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const user = await directory.userById(accountId);
      // authTime() is a method of oidc-provider's Session: the sign-in time in unix seconds.
      const why = userRefusal(user, fromEpoch(ctx.oidc.session?.authTime()));
      return why ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT;
    },
  );
  // A session signed in without a second factor, asking for an API whose policy requires one.
  const conditionalAccessMfa = new interactionPolicy.Check(
    'opencae_conditional_access_mfa',
    'a Conditional Access policy requires multi-factor authentication',
    async (ctx: Ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      if (!accountId || mfaDone(ctx.oidc.session?.amr)) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const claims = authorizationClaims(ctx.oidc.params?.claims);
      const audiences = [
        ...new Set([
          ...Object.keys(ctx.oidc.resourceServers ?? {}),
          ...requestedAudiences(ctx.oidc.params ?? {}),
        ]),
      ];
      const requirement = await signInRequirement(deps.conditionalAccess, {
        principal: { type: 'user', id: accountId },
        audiences,
        clientIp: requestStateOf(ctx).ip || undefined,
        claims,
        cp1: isCaeCapable(claims),
      });
      return requirement.mfaRequired
        ? interactionPolicy.Check.REQUEST_PROMPT
        : interactionPolicy.Check.NO_NEED_TO_PROMPT;
    },
  );
  const policy = interactionPolicy.base();
  policy.get('login')?.checks.add(accountState);
  policy.get('login')?.checks.add(conditionalAccessMfa);

  return {
    adapter: (name: string) =>
      (name === 'Client'
        ? clients
        : name === 'Session'
          ? new SessionAdapter(db, deps.signOuts, config.issuerUrl)
          : new OidcModelAdapter(db, name)) as never,
    clients: [],
    jwks: { keys: deps.signingKeys as never },
    cookies: {
      keys: deps.cookieKeys,
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    routes: ROUTES,
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
    },
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      idTokenSigningAlgValues: [SIGNING_ALG],
    },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    clockTolerance: 5,
    // As Entra does for first-party apps: an app registered for the refresh_token grant gets refresh
    // tokens (oidc-provider would otherwise drop offline_access unless prompt=consent, which MSAL does
    // not send). They outlive the browser session; revocation goes through sessions_revoked_at.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    interactions: {
      policy,
      url: (_ctx, interaction) => `${INTERACTION_PATH}/${interaction.uid}`,
    },
    ttl: {
      AccessToken: (_ctx, token) =>
        token.resourceServer?.accessTokenTTL ?? config.lifetimes.standard.minSeconds,
      ClientCredentials: (_ctx, token) =>
        token.resourceServer?.accessTokenTTL ?? config.lifetimes.standard.minSeconds,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      RefreshToken: 14 * 24 * 3600,
    },
    async findAccount(ctx: Ctx, sub: string, redeemed?: object): Promise<Account | undefined> {
      const token = redeemed as UnknownObject | undefined;
      const user = await directory.userById(sub);
      if (user) requestStateOf(ctx).user = user;
      if (token) {
        // A code or refresh token is being redeemed (or an access token used at userinfo).
        const since = establishedAt(token);
        const why = userRefusal(user, since);
        if (why) throw invalidGrant(why);
        const clientId = typeof token.clientId === 'string' ? token.clientId : ctx.oidc.client?.clientId;
        if (clientId) {
          const appWhy = applicationRefusal(await applicationOf(ctx, clientId), since);
          if (appWhy) throw invalidClient(appWhy);
        }
        // Conditional Access before oidc-provider rotates a refresh token: a refused request leaves
        // the client its refresh token, to try again where the policies allow it.
        const audience = ctx.oidc.route === 'token' ? redeemedAudience(ctx, token) : undefined;
        if (audience && user) await conditionalAccess(ctx, audience, { type: 'user', id: user.id });
      }
      if (!user || user.deletedAt) return undefined;
      return {
        accountId: user.id,
        claims: () => ({
          sub: user.id,
          name: user.displayName,
          preferred_username: user.username,
          ...(user.email ? { email: user.email } : {}),
        }),
      };
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Opaque tokens here are refresh tokens: only the client holding one may introspect it, and
        // only while the current state still honours it. JWT access tokens: see introspection-endpoint.
        async allowedPolicy(ctx: Ctx, client, token) {
          if (token.clientId !== client.clientId) return false;
          const since = establishedAt(token as unknown as UnknownObject);
          if (applicationRefusal(await applicationOf(ctx, client.clientId), since)) return false;
          const accountId = (token as { accountId?: unknown }).accountId;
          if (typeof accountId !== 'string') return true;
          return userRefusal(await directory.userById(accountId), since) === undefined;
        },
      },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = signOutPage(form);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = messagePage('Signed out', 'You are signed out of OpenCAE in this browser.');
        },
      },
      claimsParameter: {
        enabled: true,
        // Called by the authorization endpoint with the parsed claims.
        async assertClaimsParameter(ctx: Ctx) {
          try {
            const claims = parseClaimsRequest(ctx.oidc.params?.claims as string | undefined);
            evaluateEssentialClaims(claims, Math.floor(Date.now() / 1000));
          } catch (error) {
            if (error instanceof ClaimsRequestError)
              throw invalidRequest(`invalid claims parameter: ${error.message}`);
            if (error instanceof TokenServiceError) throw toOAuthError(error);
            throw error;
          }
        },
      },
      resourceIndicators: {
        enabled: true,
        // Entra-style scopes name the API: `api://orders/.default` means resource=api://orders.
        async defaultResource(ctx: Ctx, _client, oneOf?: readonly string[]) {
          const scope = (ctx.oidc.params?.scope as string | undefined) ?? requestStateOf(ctx).scope;
          const named = audiencesOf(scope);
          if (oneOf) {
            const chosen = named.filter((audience) => oneOf.includes(audience));
            if (chosen.length === 1) return chosen[0] as string;
            return oneOf.length === 1 ? (oneOf[0] as string) : [...oneOf];
          }
          if (named.length === 0) return undefined as unknown as string;
          return named.length === 1 ? (named[0] as string) : named;
        },
        useGrantedResource: async () => true,
        async getResourceServerInfo(ctx: Ctx, audience: string, client) {
          const application = await applicationOf(ctx, client.clientId);
          const why = applicationRefusal(application);
          if (why) throw invalidClient(why);
          const found = await directory.apiWithGrant(audience, application!.applicationId);
          if (!found) throw invalidTarget(`no API is registered with the audience ${audience}`);
          const { api } = found;
          let { grant } = found;
          const isTokenEndpoint = ctx.oidc.route === 'token';
          const isApp = isTokenEndpoint && ctx.oidc.params?.grant_type === 'client_credentials';
          if (isApp) {
            const roles = applicationRoles(api, grant, ctx.oidc.params?.scope as string | undefined);
            if (roles.length === 0)
              throw invalidScope(`the application has not been granted any app role on ${audience}`);
          } else if (!grant || grant.scopes.length === 0) {
            throw invalidScope(`the application has not been granted any delegated scope on ${audience}`);
          }
          const cp1 = isCaeCapable(effectiveClaims(ctx));
          // The authorization endpoint only checks the API; the token endpoint decides the token, and
          // never without Conditional Access.
          let evaluation: IssuanceEvaluation | undefined;
          if (isTokenEndpoint) {
            const accountId = ctx.oidc.account?.accountId;
            const principal = isApp
              ? { type: 'servicePrincipal' as const, id: application!.servicePrincipal!.id }
              : accountId
                ? { type: 'user' as const, id: accountId }
                : undefined;
            if (!principal) throw new Error('a token request without a principal reached issuance');
            evaluation = await conditionalAccess(ctx, audience, principal);
            if (principal.type === 'user' && needsAdministrator(api))
              grant = grantForUser(api, grant, await directory.isAdministrator(principal.id));
          }
          const decision = evaluation
            ? shapeToken(config.lifetimes, cp1, api.caeEnabled, evaluation)
            : decideLifetime(config.lifetimes, cp1, api.caeEnabled);
          requestStateOf(ctx).decisions.set(audience, {
            api,
            grant,
            ...decision,
            ...(evaluation ? { conditionalAccess: evaluation } : {}),
          });
          return {
            audience,
            scope: grantableScopes(api, grant).join(' '),
            accessTokenFormat: 'jwt',
            accessTokenTTL: decision.lifetimeSeconds,
            jwt: { sign: { alg: SIGNING_ALG, ...(activeKid ? { kid: activeKid } : {}) } },
          };
        },
      },
    },
    formats: {
      customizers: {
        async jwt(ctx: Ctx, token, jwt) {
          const state = requestStateOf(ctx);
          const audience = Array.isArray(jwt.payload.aud) ? jwt.payload.aud[0] : jwt.payload.aud;
          const decision = state.decisions.get(String(audience));
          if (!decision) throw new Error(`no issuance decision for audience ${String(audience)}`);
          const payload = jwt.payload as Record<string, unknown>;
          const isApp = token.kind === 'ClientCredentials';
          const scope = typeof payload.scope === 'string' ? payload.scope : undefined;
          const clientId = String(payload.client_id);
          delete payload.scope;
          const sp = (await applicationOf(ctx, clientId))?.servicePrincipal;
          if (isApp) {
            const oid = sp?.id;
            if (!oid) throw invalidClient('the application has no service principal in this tenant');
            payload.sub = oid;
            payload.oid = oid;
            payload.idtyp = 'app';
            payload.roles = applicationRoles(decision.api, decision.grant, scope);
          } else {
            payload.oid = payload.sub;
            payload.idtyp = 'user';
            payload.scp = delegatedScopes(decision.api, decision.grant, scope).join(' ');
            // The session's uid: stable for the session, stored with every grant artifact
            // (oidc_models.session_uid), so a session-scoped revocation can name it.
            const session = token as { sid?: string; sessionUid?: string };
            const sid = session.sessionUid ?? session.sid;
            if (sid) payload.sid = sid;
          }
          payload.azp = clientId;
          payload.tid = await directory.tenant();
          if (state.ip) payload.ipaddr = state.ip;
          if (decision.cae) payload.xms_cc = ['cp1'];
          // xms_pv, xms_lp, xms_ipchk: what the resource's location enforcement reads.
          if (decision.conditionalAccess) Object.assign(payload, decision.conditionalAccess.claims);
          // A challenge's nbf is the revocation time, and resources refuse iat <= it: issue strictly after.
          // Nor is a token older than its sign-in, or than a change of its app in the same second
          // (resources refuse iat <= a revocation's second; this token was issued after the change).
          const source = (ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken) as
            | { authTime?: unknown }
            | undefined;
          const iat = Math.max(
            Number(payload.iat),
            state.notBefore === undefined ? 0 : state.notBefore + 1,
            isApp || typeof source?.authTime !== 'number' ? 0 : source.authTime,
            issueSecond(0, [sp?.credentialsChangedAt, sp?.sessionsRevokedAt]),
          );
          // Moving iat forward keeps the lifetime the token was given (e.g. exactly one hour).
          if (typeof payload.exp === 'number') payload.exp += iat - Number(payload.iat);
          payload.iat = iat;
          payload.nbf = iat;
        },
      },
    },
    extraParams: [],
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = errorPage(out.error, out.error_description);
    },
  } satisfies Configuration;
}

export function errorPage(error: string, description: string | undefined): string {
  return messagePage('Sign-in error', description ? `${error}: ${description}` : error);
}
