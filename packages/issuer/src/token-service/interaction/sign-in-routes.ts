/**
 * The interaction routes oidc-provider sends a browser to: sign-in (username + password), TOTP
 * enrollment or verification when the account needs a second factor, then first-party consent
 * (the scopes the application's API grants allow are granted without a page).
 *
 * Forgery: every form carries a random token bound server-side to the interaction, and the
 * interaction itself is bound to the browser by oidc-provider's signed, SameSite cookie.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { InteractionResults, Provider } from 'oidc-provider';
import type { ConditionalAccessService, IssuanceEvaluation } from '../../conditional-access/service.js';
import { resourceIpFromClaims } from '../../conditional-access/token-claims.js';
import type { SecretBox } from '../../crypto/secret-box.js';
import { constantTimeEqual, verifyPassword } from '../../crypto/secrets.js';
import { recordMfaEnrollment } from '../../directory/user-actions.js';
import type { Db } from '../../storage/database.js';
import { isCaeCapable } from '../cae-rules.js';
import { issueSecond, userRefusal } from '../current-state.js';
import type { DirectoryReader, UserState } from '../directory-reader.js';
import { authorizationClaims, requestedAudiences, signInRequirement } from '../issuance-policy.js';
import { INTERACTION_PATH } from '../provider-configuration.js';
import { declaredCapabilities, type SignInRecorder, userPrincipal } from '../sign-in-recorder.js';
import { enrollPage, messagePage, PAGE_CSP, signInPage, totpPage } from './pages.js';
import { lockoutKeys, type SignInLockout } from './sign-in-lockout.js';
import { MAX_FAILURES, type SignInState, type SignInStore } from './sign-in-store.js';
import { generateTotpSecret, matchTotp, otpauthUri } from './totp.js';

const UID = /^[A-Za-z0-9_-]{1,64}$/;

interface Deps {
  provider: () => Provider;
  directory: DirectoryReader;
  store: SignInStore;
  /** Failed passwords and codes per account name and client address, across sign-ins and replicas. */
  lockout: SignInLockout;
  /** Where the directory's services write (TOTP enrollment and its security event). */
  db: Db;
  /** Encrypts the enrolled TOTP secret before the directory stores it. */
  secrets: SecretBox;
  issuer: string;
  /** Policies that may block the sign-in or require a second factor for the APIs it asks for. */
  conditionalAccess: ConditionalAccessService;
  /** Refused sign-ins go to the sign-in log. */
  signIns: SignInRecorder;
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

export async function registerSignInRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 16 * 1024 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );
    scope.addHook('onSend', async (_request, reply) => {
      reply.header('content-security-policy', PAGE_CSP);
      reply.header('cache-control', 'no-store');
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'no-referrer');
    });

    scope.get<{ Params: { uid: string } }>(`${INTERACTION_PATH}/:uid`, async (request, reply) => {
      const details = await interaction(deps, request, reply);
      if (!details) return reply;
      if (details.prompt.name === 'consent') return consent(deps, request, reply, details);
      if (details.prompt.name !== 'login') return deny(deps, request, reply, details, 'unsupported prompt');
      const state = (await deps.store.get(details.uid)) ?? newState();
      await deps.store.put(details.uid, state);
      return render(deps, reply, details, state);
    });

    scope.post<{ Params: { uid: string }; Body: Record<string, unknown> }>(
      `${INTERACTION_PATH}/:uid/login`,
      async (request, reply) => {
        const details = await interaction(deps, request, reply);
        if (!details) return reply;
        const state = await checkedState(deps, request, reply, details);
        if (!state) return reply;
        const username = field(request.body, 'username', 256);
        const password = field(request.body, 'password', 1024);
        if (!username || !password) {
          return render(deps, reply.code(400), details, state, 'Enter your username and password.');
        }
        const keys = lockoutKeys(username, request.ip);
        // Refused before the password is checked: a locked account is no password oracle.
        const wait = await deps.lockout.lockedFor(keys);
        if (wait > 0) return locked(deps, request, reply, details, state, wait, username);
        const user = await deps.directory.userByUsername(username);
        const valid = await verifyPassword(password, user?.passwordHash);
        if (!valid || !user) {
          await deps.lockout.recordFailure(keys);
          return fail(deps, request, reply, details, state, 'Wrong username or password.', username);
        }
        const why = userRefusal(user, undefined);
        if (why) return deny(deps, request, reply, details, why, { user });
        return afterPassword(
          deps,
          request,
          reply,
          details,
          { ...state, passwordVerifiedAt: Date.now() },
          user,
        );
      },
    );

    scope.post<{ Params: { uid: string }; Body: Record<string, unknown> }>(
      `${INTERACTION_PATH}/:uid/totp`,
      async (request, reply) => {
        const details = await interaction(deps, request, reply);
        if (!details) return reply;
        const state = await checkedState(deps, request, reply, details);
        if (!state) return reply;
        if ((state.stage !== 'totp' && state.stage !== 'enroll') || !state.userId) {
          return render(deps, reply.code(400), details, { ...state, stage: 'password' }, 'Sign in first.');
        }
        const user = await deps.directory.userById(state.userId);
        const why = userRefusal(user, undefined);
        if (why || !user)
          return deny(deps, request, reply, details, why ?? 'the user no longer exists', { user });
        const keys = lockoutKeys(user.username, request.ip);
        const wait = await deps.lockout.lockedFor(keys);
        if (wait > 0) return locked(deps, request, reply, details, state, wait);
        const secret = state.stage === 'enroll' ? state.pendingSecret : user.totpSecret;
        const code = field(request.body, 'code', 16) ?? '';
        const step = secret ? matchTotp(secret, code) : undefined;
        if (step === undefined) {
          await deps.lockout.recordFailure(keys);
          return fail(deps, request, reply, details, state, 'That code is not valid. Try again.');
        }
        if (!(await deps.store.spendTotpStep(user.id, step))) {
          await deps.lockout.recordFailure(keys);
          return fail(
            deps,
            request,
            reply,
            details,
            state,
            'That code was already used. Wait for the next one.',
          );
        }
        if (state.stage === 'enroll' && secret) {
          // The directory stores the secret and announces MFA as enabled (CAEP credential-change) at once.
          await recordMfaEnrollment(
            { db: deps.db, issuer: deps.issuer, actor: user.id, secrets: deps.secrets },
            user.id,
            secret,
          );
        }
        return login(deps, request, reply, details, state, user, ['pwd', 'otp']);
      },
    );
  });
}

function newState(): SignInState {
  return { csrf: randomBytes(24).toString('base64url'), stage: 'password', failures: 0 };
}

function field(body: Record<string, unknown> | undefined, name: string, max: number): string | undefined {
  const value = body?.[name];
  return typeof value === 'string' && value.length > 0 && value.length <= max ? value : undefined;
}

/** The interaction behind the URL and cookie, or an explanatory page when there is none. */
async function interaction(
  deps: Deps,
  request: FastifyRequest<{ Params: { uid: string } }>,
  reply: FastifyReply,
): Promise<Details | undefined> {
  const { uid } = request.params;
  try {
    if (!UID.test(uid)) throw new Error('malformed interaction id');
    const details = await deps.provider().interactionDetails(request.raw, reply.raw);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    return details;
  } catch {
    reply
      .code(400)
      .type('text/html; charset=utf-8')
      .send(
        messagePage(
          'Sign-in expired',
          'This sign-in has expired or was opened in another browser. Start again from the application.',
        ),
      );
    return undefined;
  }
}

async function checkedState(
  deps: Deps,
  request: FastifyRequest<{ Body: Record<string, unknown> }>,
  reply: FastifyReply,
  details: Details,
): Promise<SignInState | undefined> {
  const state = await deps.store.get(details.uid);
  const csrf = field(request.body, 'csrf', 128);
  if (!state || !csrf || !constantTimeEqual(csrf, state.csrf)) {
    reply
      .code(403)
      .type('text/html; charset=utf-8')
      .send(
        messagePage('Sign-in refused', 'The form was not accepted. Reload the sign-in page and try again.'),
      );
    return undefined;
  }
  return state;
}

async function clientName(deps: Deps, details: Details): Promise<string> {
  const clientId = String(details.params.client_id ?? '');
  const client = await deps.provider().Client.find(clientId);
  return client?.clientName ?? clientId;
}

async function render(
  deps: Deps,
  reply: FastifyReply,
  details: Details,
  state: SignInState,
  error?: string,
  username?: string,
) {
  const base = { csrf: state.csrf, clientName: await clientName(deps, details), error };
  reply.type('text/html; charset=utf-8');
  if (state.stage === 'totp')
    return reply.send(totpPage({ ...base, action: `${INTERACTION_PATH}/${details.uid}/totp` }));
  if (state.stage === 'enroll' && state.pendingSecret && state.userId) {
    const user = await deps.directory.userById(state.userId);
    return reply.send(
      enrollPage({
        ...base,
        action: `${INTERACTION_PATH}/${details.uid}/totp`,
        secret: state.pendingSecret,
        otpauthUri: otpauthUri({
          issuer: deps.issuer,
          account: user?.username ?? 'user',
          secret: state.pendingSecret,
        }),
      }),
    );
  }
  return reply.send(signInPage({ ...base, action: `${INTERACTION_PATH}/${details.uid}/login`, username }));
}

async function fail(
  deps: Deps,
  request: FastifyRequest,
  reply: FastifyReply,
  details: Details,
  state: SignInState,
  message: string,
  username?: string,
) {
  const next = { ...state, failures: state.failures + 1 };
  if (next.failures >= MAX_FAILURES) {
    await deps.store.delete(details.uid);
    return deny(deps, request, reply, details, 'too many failed sign-in attempts', { userId: state.userId });
  }
  await deps.store.put(details.uid, next);
  return render(deps, reply.code(401), details, next, message, username);
}

/**
 * The account name or the client address is locked after repeated failures: the page says for how
 * long (429 with Retry-After), and the refusal goes to the sign-in log. The interaction stays open.
 */
async function locked(
  deps: Deps,
  request: FastifyRequest,
  reply: FastifyReply,
  details: Details,
  state: SignInState,
  seconds: number,
  username?: string,
) {
  const minutes = Math.ceil(seconds / 60);
  const description = 'sign-in temporarily locked after repeated failed attempts';
  const clientId = typeof details.params.client_id === 'string' ? details.params.client_id : undefined;
  deps.signIns.record(
    {
      app: clientId ? { clientId } : undefined,
      grantType: 'authorization_code',
      issuerIp: request.ip,
      clientCapabilities: [],
      caeToken: false,
      result: 'failure',
      errorCode: 'temporarily_locked',
      failureReason: `${description}${username ? ` (account name "${username.slice(0, 64)}")` : ''}`,
      correlationId: request.id,
    },
    'sign_in_page',
  );
  reply.header('retry-after', String(seconds));
  return render(
    deps,
    reply.code(429),
    details,
    state,
    `Too many failed sign-in attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
    username,
  );
}

async function afterPassword(
  deps: Deps,
  request: FastifyRequest,
  reply: FastifyReply,
  details: Details,
  state: SignInState,
  user: UserState,
) {
  const claims = authorizationClaims(details.params.claims);
  const requirement = await signInRequirement(deps.conditionalAccess, {
    principal: { type: 'user', id: user.id },
    audiences: requestedAudiences(details.params),
    clientIp: request.ip,
    claims,
    cp1: isCaeCapable(claims),
  });
  if (requirement.blocked) {
    await deps.store.delete(details.uid);
    return deny(deps, request, reply, details, requirement.blocked.description, {
      user,
      evaluation: requirement.blocked.evaluation,
    });
  }
  if (user.totpEnrolledAt && user.totpSecret) {
    const next: SignInState = { ...state, stage: 'totp', userId: user.id };
    await deps.store.put(details.uid, next);
    return render(deps, reply, details, next);
  }
  // Required by an administrator for this user, or by a policy for one of the requested APIs.
  if (user.mfaRequired || requirement.mfaRequired) {
    const next: SignInState = {
      ...state,
      stage: 'enroll',
      userId: user.id,
      pendingSecret: generateTotpSecret(),
    };
    await deps.store.put(details.uid, next);
    return render(deps, reply, details, next);
  }
  return login(deps, request, reply, details, state, user, ['pwd']);
}

async function login(
  deps: Deps,
  request: FastifyRequest,
  reply: FastifyReply,
  details: Details,
  state: SignInState,
  user: UserState,
  amr: string[],
) {
  // Only a complete sign-in starts the failure count over: a correct password alone must not, or it
  // would reset the count for whoever guesses the second factor.
  await deps.lockout.recordSuccess(lockoutKeys(user.username, request.ip));
  // Read again, uncached: a password reset or a session revocation committed since the password was
  // verified ends this sign-in, which started with what may have been the old password.
  const current = await deps.directory.userByUsername(user.username);
  const verifiedAt = state.passwordVerifiedAt ?? 0;
  const changes = [current?.credentialsChangedAt, current?.sessionsRevokedAt];
  if (
    !current ||
    current.id !== user.id ||
    changes.some((change) => change && change.getTime() >= verifiedAt)
  ) {
    const restarted: SignInState = { ...newState(), csrf: state.csrf };
    await deps.store.put(details.uid, restarted);
    return render(
      deps,
      reply.code(409),
      details,
      restarted,
      'Your account changed during sign-in. Sign in again.',
    );
  }
  const why = userRefusal(current, undefined);
  if (why) return deny(deps, request, reply, details, why, { user: current });
  const application = await deps.directory.applicationByClientId(String(details.params.client_id ?? ''));
  const sp = application?.servicePrincipal;
  // Stamped after every change of the same second, so the grant is never taken for an older one.
  const ts = issueSecond(Date.now(), [...changes, sp?.credentialsChangedAt, sp?.sessionsRevokedAt]);
  await deps.store.delete(details.uid);
  return finish(deps, request, reply, { login: { accountId: user.id, amr, remember: true, ts } });
}

/** First-party consent: grants what the prompt is missing; the API grants already bound it. */
async function consent(deps: Deps, request: FastifyRequest, reply: FastifyReply, details: Details) {
  const provider = deps.provider();
  const accountId = details.session?.accountId;
  const clientId = String(details.params.client_id ?? '');
  if (!accountId) return finish(deps, request, reply, { error: 'login_required' });
  const grant =
    (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
    new provider.Grant({ accountId, clientId });
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  return finish(deps, request, reply, { consent: details.grantId ? {} : { grantId } });
}

/** Ends the sign-in with access_denied, and records the refusal in the sign-in log. */
async function deny(
  deps: Deps,
  request: FastifyRequest,
  reply: FastifyReply,
  details: Details,
  description: string,
  known: { user?: UserState | undefined; userId?: string | undefined; evaluation?: IssuanceEvaluation } = {},
) {
  const clientId = typeof details.params.client_id === 'string' ? details.params.client_id : undefined;
  const claims = authorizationClaims(details.params.claims);
  // Built after the answer: the names are read without holding up the redirect.
  deps.signIns.recordLater(
    (async () => {
      const user = known.user ?? (known.userId ? await deps.directory.userById(known.userId) : undefined);
      const application = clientId ? await deps.directory.applicationByClientId(clientId) : undefined;
      return {
        principal: user ? userPrincipal(user) : undefined,
        app: clientId ? { clientId, name: application?.name } : undefined,
        apiAudience: requestedAudiences(details.params)[0],
        grantType: 'authorization_code',
        issuerIp: request.ip,
        resourceIp: resourceIpFromClaims(claims),
        clientCapabilities: declaredCapabilities(claims),
        caeToken: false,
        conditionalAccess: known.evaluation?.result.policies,
        result: 'failure' as const,
        errorCode: 'access_denied',
        failureReason: description,
        correlationId: request.id,
      };
    })(),
    'sign_in_page',
  );
  return finish(deps, request, reply, { error: 'access_denied', error_description: description });
}

async function finish(deps: Deps, request: FastifyRequest, reply: FastifyReply, result: InteractionResults) {
  const redirectTo = await deps.provider().interactionResult(request.raw, reply.raw, result, {
    mergeWithLastSubmission: false,
  });
  return reply.redirect(redirectTo, 303);
}
