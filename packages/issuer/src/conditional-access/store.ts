/**
 * Storage of named locations and policies. Every change, in ONE transaction: the row change, a new
 * policy version (settings row `ca_policy_version`, strictly increasing), the audiences it affects, the
 * OPENCAE policy-changed security event (outbox) and an audit_log row. A crash keeps all or none.
 */
import { randomUUID } from 'node:crypto';
import { OPENCAE } from '@opencae/protocol';
import { sql } from 'kysely';
import { enqueueSecurityEvents, newTxn } from '../events/outbox.js';
import { type Db, notify } from '../storage/database.js';
import { ConditionalAccessError } from './errors.js';
import { type NamedLocation, type NamedLocationInput, namedLocationInputSchema } from './named-location.js';
import {
  ALL,
  type ConditionalAccessPolicy,
  type PolicyDefinition,
  type PolicyInput,
  policyInputSchema,
  referencedLocationIds,
  usesTrustedLocations,
} from './policy.js';

export const POLICY_VERSION_SETTING = 'ca_policy_version';
/** NOTIFY channel: payload = the new policy version; replicas drop their compiled policy set. */
export const POLICY_CHANGES_CHANNEL = 'opencae_ca_policy_changed';
/** The SET subject of policy-changed events: the tenant's Conditional Access configuration. */
export const POLICY_EVENT_SUBJECT = { format: 'opaque', id: 'conditional-access' } as const;

export interface ChangeReceipt<T> {
  value: T;
  policyVersion: number;
}

/** Who made the change, for the audit log (client id or user oid of the admin token). */
export type Actor = string;

/** null = every audience. */
type Audiences = string[] | null;

function unionAudiences(parts: Audiences[]): Audiences {
  if (parts.some((part) => part === null)) return null;
  return [...new Set(parts.flat() as string[])].sort();
}

/** The audiences whose tokens a policy's enforcement touches; report-only/disabled touch none. */
function audiencesOf(policy: PolicyDefinition | undefined): Audiences {
  if (!policy || policy.state !== 'enabled') return [];
  return policy.targetApis.include.includes(ALL) ? null : [...policy.targetApis.include];
}

function parseOrThrow<T>(
  schema: {
    safeParse(
      input: unknown,
    ):
      | { success: true; data: T }
      | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  input: unknown,
  what: string,
): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
  const summary = details
    .slice(0, 5)
    .map((detail) => (detail.path ? `${detail.path}: ${detail.message}` : detail.message))
    .join('; ');
  throw new ConditionalAccessError('ERR_CA_INVALID', `invalid ${what}: ${summary}`, details);
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ConditionalAccessStore {
  constructor(private readonly db: Db) {}

  // ---- reads -------------------------------------------------------------------------------------

  async currentVersion(db: Db = this.db): Promise<number> {
    const row = await db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', POLICY_VERSION_SETTING)
      .executeTakeFirst();
    return Number((row?.value as { version?: number } | undefined)?.version ?? 0);
  }

  /** The last version whose change concerns this audience (0 if none). */
  async audienceVersion(audience: string, db: Db = this.db): Promise<number> {
    const row = await db
      .selectFrom('ca_policy_changes')
      .select((eb) => eb.fn.max('version').as('version'))
      .where((eb) =>
        eb.or([eb('audiences', 'is', null), sql<boolean>`audiences @> ${JSON.stringify([audience])}::jsonb`]),
      )
      .executeTakeFirst();
    return Number(row?.version ?? 0);
  }

  async listNamedLocations(db: Db = this.db): Promise<NamedLocation[]> {
    const rows = await db.selectFrom('ca_named_locations').selectAll().orderBy('name').execute();
    return rows.map(toNamedLocation);
  }

  async getNamedLocation(id: string): Promise<NamedLocation> {
    const row = UUID.test(id)
      ? await this.db.selectFrom('ca_named_locations').selectAll().where('id', '=', id).executeTakeFirst()
      : undefined;
    if (!row) throw new ConditionalAccessError('ERR_CA_NOT_FOUND', `no named location ${id}`);
    return toNamedLocation(row);
  }

  async listPolicies(db: Db = this.db): Promise<ConditionalAccessPolicy[]> {
    const rows = await db.selectFrom('ca_policies').selectAll().orderBy('name').execute();
    return rows.map(toPolicy);
  }

  async getPolicy(id: string): Promise<ConditionalAccessPolicy> {
    const row = UUID.test(id)
      ? await this.db.selectFrom('ca_policies').selectAll().where('id', '=', id).executeTakeFirst()
      : undefined;
    if (!row) throw new ConditionalAccessError('ERR_CA_NOT_FOUND', `no Conditional Access policy ${id}`);
    return toPolicy(row);
  }

  /** Policies, named locations and version read in one snapshot (repeatable read). */
  async loadAll(): Promise<{
    version: number;
    policies: ConditionalAccessPolicy[];
    namedLocations: NamedLocation[];
  }> {
    return this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => ({
        version: await this.currentVersion(trx),
        policies: await this.listPolicies(trx),
        namedLocations: await this.listNamedLocations(trx),
      }));
  }

  // ---- named locations ---------------------------------------------------------------------------

  async createNamedLocation(input: NamedLocationInput, actor: Actor): Promise<ChangeReceipt<NamedLocation>> {
    const data = parseOrThrow(namedLocationInputSchema, input, 'named location');
    const location: NamedLocation = { id: randomUUID(), ...data };
    return this.change(actor, 'namedLocation.create', 'named_location', location.id, async (trx) => {
      await trx
        .insertInto('ca_named_locations')
        .values({
          id: location.id,
          name: location.name,
          trusted: location.trusted,
          ranges: JSON.stringify(location.ranges),
        })
        .execute();
      return {
        value: location,
        before: null,
        audiences: await this.locationAudiences(trx, location.id, location.trusted),
      };
    });
  }

  async replaceNamedLocation(
    id: string,
    input: NamedLocationInput,
    actor: Actor,
  ): Promise<ChangeReceipt<NamedLocation>> {
    const data = parseOrThrow(namedLocationInputSchema, input, 'named location');
    const before = await this.getNamedLocation(id);
    const location: NamedLocation = { id, ...data };
    return this.change(actor, 'namedLocation.replace', 'named_location', id, async (trx) => {
      const updated = await trx
        .updateTable('ca_named_locations')
        .set({
          name: location.name,
          trusted: location.trusted,
          ranges: JSON.stringify(location.ranges),
          updated_at: new Date(),
        })
        .where('id', '=', id)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n)
        throw new ConditionalAccessError('ERR_CA_NOT_FOUND', `no named location ${id}`);
      return {
        value: location,
        before,
        audiences: await this.locationAudiences(trx, id, before.trusted || location.trusted),
      };
    });
  }

  async deleteNamedLocation(id: string, actor: Actor): Promise<ChangeReceipt<NamedLocation>> {
    const before = await this.getNamedLocation(id);
    return this.change(actor, 'namedLocation.delete', 'named_location', id, async (trx) => {
      const users = (await this.listPolicies(trx)).filter((policy) =>
        referencedLocationIds(policy).includes(id),
      );
      if (users.length > 0) {
        throw new ConditionalAccessError(
          'ERR_CA_CONFLICT',
          `named location ${id} is used by ${users.length === 1 ? 'policy' : 'policies'} ${users.map((p) => `"${p.name}"`).join(', ')}; remove it from them first`,
        );
      }
      const audiences = await this.locationAudiences(trx, id, before.trusted);
      await trx.deleteFrom('ca_named_locations').where('id', '=', id).execute();
      return { value: before, before, after: null, audiences };
    });
  }

  /** Enabled policies whose location condition depends on this location: their target audiences. */
  private async locationAudiences(trx: Db, locationId: string, trusted: boolean): Promise<Audiences> {
    const policies = await this.listPolicies(trx);
    const affected = policies.filter(
      (policy) =>
        referencedLocationIds(policy).includes(locationId) || (trusted && usesTrustedLocations(policy)),
    );
    return unionAudiences(affected.map(audiencesOf));
  }

  // ---- policies ----------------------------------------------------------------------------------

  async createPolicy(input: PolicyInput, actor: Actor): Promise<ChangeReceipt<ConditionalAccessPolicy>> {
    const definition = parseOrThrow(policyInputSchema, input, 'Conditional Access policy');
    const policy: ConditionalAccessPolicy = { id: randomUUID(), ...definition };
    return this.change(actor, 'policy.create', 'conditional_access_policy', policy.id, async (trx) => {
      await this.checkReferences(trx, definition);
      await trx
        .insertInto('ca_policies')
        .values({
          id: policy.id,
          name: policy.name,
          state: policy.state,
          definition: JSON.stringify(definition),
        })
        .execute();
      return { value: policy, before: null, audiences: audiencesOf(definition) };
    });
  }

  async replacePolicy(
    id: string,
    input: PolicyInput,
    actor: Actor,
  ): Promise<ChangeReceipt<ConditionalAccessPolicy>> {
    const definition = parseOrThrow(policyInputSchema, input, 'Conditional Access policy');
    const before = await this.getPolicy(id);
    const policy: ConditionalAccessPolicy = { id, ...definition };
    return this.change(actor, 'policy.replace', 'conditional_access_policy', id, async (trx) => {
      await this.checkReferences(trx, definition);
      const updated = await trx
        .updateTable('ca_policies')
        .set({
          name: policy.name,
          state: policy.state,
          definition: JSON.stringify(definition),
          updated_at: new Date(),
        })
        .where('id', '=', id)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) {
        throw new ConditionalAccessError('ERR_CA_NOT_FOUND', `no Conditional Access policy ${id}`);
      }
      return {
        value: policy,
        before,
        audiences: unionAudiences([audiencesOf(before), audiencesOf(definition)]),
      };
    });
  }

  async deletePolicy(id: string, actor: Actor): Promise<ChangeReceipt<ConditionalAccessPolicy>> {
    const before = await this.getPolicy(id);
    return this.change(actor, 'policy.delete', 'conditional_access_policy', id, async (trx) => {
      await trx.deleteFrom('ca_policies').where('id', '=', id).execute();
      return { value: before, before, after: null, audiences: audiencesOf(before) };
    });
  }

  private async checkReferences(trx: Db, definition: PolicyDefinition): Promise<void> {
    const ids = [...new Set(referencedLocationIds(definition))];
    if (ids.length === 0) return;
    const found = await trx.selectFrom('ca_named_locations').select('id').where('id', 'in', ids).execute();
    const known = new Set(found.map((row) => row.id));
    const missing = ids.filter((id) => !known.has(id));
    if (missing.length > 0) {
      throw new ConditionalAccessError(
        'ERR_CA_INVALID',
        `invalid Conditional Access policy: conditions.locations refers to unknown named location(s) ${missing.join(', ')}`,
        missing.map((id) => ({ path: 'conditions.locations', message: `unknown named location ${id}` })),
      );
    }
  }

  // ---- the shared change transaction -------------------------------------------------------------

  private async change<T extends object>(
    actor: Actor,
    action: string,
    targetType: string,
    targetId: string,
    apply: (
      trx: Db,
    ) => Promise<{ value: T; before: object | null; after?: object | null; audiences: Audiences }>,
  ): Promise<ChangeReceipt<T>> {
    const txn = newTxn();
    const now = new Date();
    try {
      return await this.db.transaction().execute(async (trx) => {
        const { value, before, after, audiences } = await apply(trx);
        // The upsert takes the settings row lock: concurrent changes get distinct, ordered versions.
        const bumped = await trx
          .insertInto('settings')
          .values({ key: POLICY_VERSION_SETTING, value: JSON.stringify({ version: 1 }) })
          .onConflict((oc) =>
            oc.column('key').doUpdateSet({
              value: sql`jsonb_build_object('version', (settings.value->>'version')::bigint + 1)`,
            }),
          )
          .returning('value')
          .executeTakeFirstOrThrow();
        const policyVersion = Number((bumped.value as { version: number }).version);
        await trx
          .insertInto('ca_policy_changes')
          .values({
            version: policyVersion,
            audiences: audiences === null ? null : JSON.stringify(audiences),
            changed_at: now,
          })
          .execute();
        await enqueueSecurityEvents(
          trx,
          txn,
          [
            {
              eventType: OPENCAE.policyChanged,
              subject: POLICY_EVENT_SUBJECT,
              event: {
                event_timestamp: Math.floor(now.getTime() / 1000),
                policy_version: policyVersion,
                ...(audiences === null ? {} : { audiences }),
              },
              principalType: 'policy',
              principalId: targetId,
            },
          ],
          now,
        );
        await trx
          .insertInto('audit_log')
          .values({
            at: now,
            actor,
            action: `conditionalAccess.${action}`,
            target_type: targetType,
            target_id: targetId,
            before: before === null ? null : JSON.stringify(before),
            after: after === null ? null : JSON.stringify(after ?? value),
            txn,
          })
          .execute();
        await notify(trx, POLICY_CHANGES_CHANNEL, String(policyVersion));
        return { value, policyVersion };
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ConditionalAccessError(
          'ERR_CA_CONFLICT',
          'a named location or policy with this name already exists',
        );
      }
      throw error;
    }
  }
}

function toNamedLocation(row: {
  id: string;
  name: string;
  trusted: boolean;
  ranges: string[];
}): NamedLocation {
  return { id: row.id, name: row.name, trusted: row.trusted, ranges: row.ranges };
}

function toPolicy(row: { id: string; definition: Record<string, unknown> }): ConditionalAccessPolicy {
  // Stored definitions were validated on write; parsing again fills defaults added since.
  return { id: row.id, ...policyInputSchema.parse(row.definition) };
}
