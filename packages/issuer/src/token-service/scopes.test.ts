import { describe, expect, it } from 'vitest';
import type { ApiState } from './directory-reader.js';
import {
  applicationRoles,
  audiencesOf,
  delegatedScopes,
  grantableScopes,
  parseApiScope,
  withoutOfflineAccessOnRefresh,
} from './scopes.js';

const api: ApiState = {
  id: 'a',
  audience: 'api://orders',
  caeEnabled: true,
  scopes: ['Orders.Read', 'Orders.Write'],
  appRoles: ['Orders.Read.All', 'Orders.Admin'],
};

describe('Entra-style scopes', () => {
  it('splits <audience>/<name> at the last slash, only for absolute URIs', () => {
    expect(parseApiScope('api://orders/.default')).toEqual({ audience: 'api://orders', name: '.default' });
    expect(parseApiScope('https://graph.example/v1/User.Read')).toEqual({
      audience: 'https://graph.example/v1',
      name: 'User.Read',
    });
    expect(parseApiScope('ssf.manage')).toEqual({ audience: 'urn:opencae:ssf', name: 'ssf.manage' });
    expect(parseApiScope('openid')).toBeUndefined();
    expect(parseApiScope('a/b')).toBeUndefined();
    expect(parseApiScope('api://orders/')).toBeUndefined();
  });

  it('lists the APIs a scope string names', () => {
    expect(audiencesOf('openid offline_access api://orders/Orders.Read api://orders/Orders.Write')).toEqual([
      'api://orders',
    ]);
    expect(audiencesOf(undefined)).toEqual([]);
  });

  it('grants only what api_grants allow and the API defines', () => {
    const grant = { scopes: ['Orders.Read', 'Nope'], roles: ['Orders.Admin'] };
    expect(grantableScopes(api, grant).sort()).toEqual(
      ['api://orders/.default', 'api://orders/Orders.Admin', 'api://orders/Orders.Read'].sort(),
    );
    expect(delegatedScopes(api, grant, 'api://orders/.default')).toEqual(['Orders.Read']);
    expect(delegatedScopes(api, grant, 'api://orders/Orders.Write')).toEqual([]);
    expect(applicationRoles(api, grant, 'api://orders/.default')).toEqual(['Orders.Admin']);
    expect(applicationRoles(api, grant, undefined)).toEqual(['Orders.Admin']);
    expect(applicationRoles(api, { scopes: [], roles: [] }, undefined)).toEqual([]);
  });
});

describe('offline_access on a refresh (MSAL sends it every time)', () => {
  const form = (fields: Record<string, string>) => new URLSearchParams(fields);

  it('is dropped from the scope of a refresh_token request, everything else kept', () => {
    const rewritten = withoutOfflineAccessOnRefresh(
      form({ grant_type: 'refresh_token', scope: 'api://orders/Orders.Read openid profile offline_access' }),
    );
    expect(rewritten?.get('scope')).toBe('api://orders/Orders.Read openid profile');
    expect(rewritten?.get('grant_type')).toBe('refresh_token');
    expect(
      withoutOfflineAccessOnRefresh(form({ grant_type: 'refresh_token', scope: 'offline_access' }))?.has(
        'scope',
      ),
    ).toBe(false);
  });

  it('leaves other grants, requests without it and repeated scope parameters alone', () => {
    expect(
      withoutOfflineAccessOnRefresh(form({ grant_type: 'authorization_code', scope: 'offline_access' })),
    ).toBeUndefined();
    expect(
      withoutOfflineAccessOnRefresh(form({ grant_type: 'refresh_token', scope: 'openid' })),
    ).toBeUndefined();
    const twice = new URLSearchParams('grant_type=refresh_token&scope=offline_access&scope=openid');
    expect(withoutOfflineAccessOnRefresh(twice)).toBeUndefined();
  });
});
