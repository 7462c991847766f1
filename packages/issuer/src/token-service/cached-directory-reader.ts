/**
 * The directory reads of the token's hot path (application + service principal + secrets by
 * client_id, API + grant by audience and application, user by id, administrators group membership,
 * tenant id) through the DirectoryCache. Values
 * are shared between requests: callers must treat them as read-only (they do; see scopes.ts and
 * current-state.ts). Sign-in by username is not cached: it runs once per interactive sign-in.
 */

import type { SecretBox } from '../crypto/secret-box.js';
import type { Db } from '../storage/database.js';
import type { DirectoryCache } from './directory-cache.js';
import {
  type ApiGrant,
  type ApiState,
  type ApplicationState,
  DirectoryReader,
  type UserState,
} from './directory-reader.js';

export class CachedDirectoryReader extends DirectoryReader {
  constructor(
    db: Db,
    readonly cache: DirectoryCache,
    secrets?: SecretBox,
  ) {
    super(db, secrets);
  }

  override userById(id: string): Promise<UserState | undefined> {
    return this.cache.get(`user\u0000${id}`, () => super.userById(id));
  }

  override applicationByClientId(clientId: string): Promise<ApplicationState | undefined> {
    return this.cache.get(`application\u0000${clientId}`, () => super.applicationByClientId(clientId));
  }

  override apiWithGrant(
    audience: string,
    applicationId: string,
  ): Promise<{ api: ApiState; grant: ApiGrant | undefined } | undefined> {
    return this.cache.get(`api\u0000${audience}\u0000${applicationId}`, () =>
      super.apiWithGrant(audience, applicationId),
    );
  }

  override isAdministrator(userId: string): Promise<boolean> {
    return this.cache.get(`administrator\u0000${userId}`, () => super.isAdministrator(userId));
  }

  /** Read through the cache too, so a changed tenant_id setting is seen like any other change. */
  override tenant(): Promise<string> {
    return this.cache.get('tenant', () => this.readTenant());
  }
}
