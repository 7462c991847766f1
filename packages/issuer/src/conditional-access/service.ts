/**
 * Conditional Access at runtime: keeps the compiled policy set of the current version (one cheap
 * version read per evaluation, a recompile only when it changed — on any replica), loads the facts
 * about a principal, evaluates, and serves the resources' location policy documents.
 */
import type { ClaimsRequest } from '@opencae/protocol';
import type { Db } from '../storage/database.js';
import type { RiskLevel } from '../storage/schema.js';
import {
  type EvaluationPrincipal,
  type EvaluationRequest,
  type EvaluationResult,
  evaluatePolicySet,
} from './evaluate.js';
import {
  buildLocationPolicyDocument,
  documentEtag,
  type LocationPolicyDocument,
} from './location-policy-document.js';
import { compilePolicySet, type PolicySet } from './policy-set.js';
import { ConditionalAccessStore } from './store.js';
import {
  type ConditionalAccessClaims,
  conditionalAccessClaims,
  resourceIpFromClaims,
  type TokenShape,
  tokenShape,
} from './token-claims.js';

export interface IssuanceInput {
  /** The token's subject: a user (delegated tokens) or a service principal (app-only tokens). */
  principal: { type: 'user' | 'servicePrincipal'; id: string };
  /** The API audience of the token being issued. */
  audience: string;
  /** The client IP the issuer sees (the token's `ipaddr`). */
  clientIp: string | undefined;
  /** The merged `claims` request (a location challenge carries `xms_rp_ipaddr`). */
  claims?: ClaimsRequest | undefined;
  /** The client declared cp1 on this request. */
  cp1: boolean;
  /** The user completed MFA in this session (always false for service principals). */
  mfaDone?: boolean;
}

export interface IssuanceEvaluation {
  /** The full result, for the sign-in log (per-policy outcomes, both IPs). */
  result: EvaluationResult;
  /** Claims to add to the access token when access is allowed. */
  claims: ConditionalAccessClaims;
  /** CAE / lifetime consequences. */
  token: TokenShape;
}

export interface ServedDocument {
  document: LocationPolicyDocument;
  body: string;
  etag: string;
}

const MAX_CACHED_DOCUMENTS = 1000;

/** A read-through cache; see useReadCache for what must invalidate it. */
export interface ReadCache {
  get<T>(key: string, load: () => Promise<T>): Promise<T>;
}

const UNCACHED: ReadCache = { get: (_key, load) => load() };

export class ConditionalAccessService {
  readonly store: ConditionalAccessStore;
  #reads: ReadCache = UNCACHED;
  #set: PolicySet | undefined;
  #loading: Promise<PolicySet> | undefined;
  #documents = new Map<string, ServedDocument>();

  constructor(private readonly db: Db) {
    this.store = new ConditionalAccessStore(db);
  }

  /**
   * Serves the policy version and principal facts (the per-token-request reads) from `cache`, which
   * must drop its entries whenever `settings`, `users`, `group_members` or `service_principals` change:
   * the token service's directory cache, invalidated by the directory-change trigger, does.
   */
  useReadCache(cache: ReadCache): void {
    this.#reads = cache;
  }

  /** The compiled policy set of the current version. */
  async policySet(): Promise<PolicySet> {
    const version = await this.#reads.get('ca:policy-version', () => this.store.currentVersion());
    if (this.#set && this.#set.version === version) return this.#set;
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    const set = await this.#loading;
    // A change committed while loading: the next call reloads; this one uses a consistent snapshot.
    return set;
  }

  async #load(): Promise<PolicySet> {
    const { version, policies, namedLocations } = await this.store.loadAll();
    const set = compilePolicySet(policies, namedLocations, version);
    if (!this.#set || set.version >= this.#set.version) {
      this.#set = set;
      this.#documents.clear();
    }
    return set;
  }

  /** Group ids, guest flag and risk of a principal, as the evaluator needs them. */
  principalFacts(principal: IssuanceInput['principal']): Promise<EvaluationPrincipal> {
    return this.#reads.get(`ca:principal:${principal.type}:${principal.id}`, () =>
      this.#loadPrincipalFacts(principal),
    );
  }

  async #loadPrincipalFacts(principal: IssuanceInput['principal']): Promise<EvaluationPrincipal> {
    if (principal.type === 'servicePrincipal') {
      const row = await this.db
        .selectFrom('service_principals')
        .select('risk_level')
        .where('id', '=', principal.id)
        .executeTakeFirst();
      return { type: 'servicePrincipal', id: principal.id, riskLevel: riskOf(row?.risk_level) };
    }
    const [user, groups] = await Promise.all([
      this.db
        .selectFrom('users')
        .select(['kind', 'risk_level'])
        .where('id', '=', principal.id)
        .executeTakeFirst(),
      this.db.selectFrom('group_members').select('group_id').where('user_id', '=', principal.id).execute(),
    ]);
    return {
      type: 'user',
      id: principal.id,
      groups: groups.map((row) => row.group_id).sort(),
      guest: user?.kind === 'guest',
      riskLevel: riskOf(user?.risk_level),
    };
  }

  /** Evaluates a request whose facts the caller already has. */
  async evaluate(request: EvaluationRequest): Promise<EvaluationResult> {
    return evaluatePolicySet(await this.policySet(), request);
  }

  /** Everything the token service needs at issuance, for every grant (code, refresh, client credentials). */
  async evaluateIssuance(input: IssuanceInput): Promise<IssuanceEvaluation> {
    const [set, principal] = await Promise.all([this.policySet(), this.principalFacts(input.principal)]);
    const result = evaluatePolicySet(set, {
      principal,
      audience: input.audience,
      issuerIp: input.clientIp,
      resourceIp: resourceIpFromClaims(input.claims),
      cp1: input.cp1,
      mfaDone: principal.type === 'user' && input.mfaDone === true,
    });
    return { result, claims: conditionalAccessClaims(result), token: tokenShape(result) };
  }

  /** The location policy document for an audience, cached per policy version. */
  async locationPolicyDocument(audience: string): Promise<ServedDocument> {
    const set = await this.policySet();
    const cached = this.#documents.get(audience);
    if (cached && cached.document.policyVersion === set.version) return cached;
    const audienceVersion = await this.store.audienceVersion(audience);
    const document = buildLocationPolicyDocument(set, audience, Math.min(audienceVersion, set.version));
    const body = JSON.stringify(document);
    const served = { document, body, etag: documentEtag(body) };
    if (this.#set === set) {
      if (this.#documents.size >= MAX_CACHED_DOCUMENTS) this.#documents.clear();
      this.#documents.set(audience, served);
    }
    return served;
  }
}

function riskOf(level: RiskLevel | undefined): RiskLevel {
  return level ?? 'none';
}

/** One service per issuer context, shared by the admin routes, the sync endpoint and the token service. */
const services = new WeakMap<object, ConditionalAccessService>();

export function conditionalAccessFor(context: { db: Db }): ConditionalAccessService {
  let service = services.get(context);
  if (!service) {
    service = new ConditionalAccessService(context.db);
    services.set(context, service);
  }
  return service;
}
