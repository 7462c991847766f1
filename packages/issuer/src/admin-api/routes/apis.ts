import type { z } from 'zod';
import { createApi, deleteApi, getApi, listApis, updateApi } from '../../directory/apis.js';
import { grantApiAccess, listGrants, revokeApiAccess } from '../../directory/grants.js';
import { type AdminRoute, route } from '../route.js';
import * as s from '../schemas.js';

export const apiRoutes: AdminRoute[] = [
  route<z.infer<typeof s.pageQuery>>({
    method: 'GET',
    path: '/apis',
    operationId: 'listApis',
    summary: 'List APIs (by audience, cursor-paginated)',
    tag: 'APIs',
    query: s.pageQuery,
    response: s.apiPage,
    handler: ({ query, db }) => listApis(db, query),
  }),
  route<undefined, z.infer<typeof s.createApiBody>>({
    method: 'POST',
    path: '/apis',
    operationId: 'createApi',
    summary: 'Register an API (resource server)',
    tag: 'APIs',
    body: s.createApiBody,
    status: 201,
    response: s.api,
    handler: ({ body, directory }) =>
      createApi(directory, {
        audience: body.audience,
        name: body.name,
        caeEnabled: body.cae_enabled,
        scopes: body.scopes,
        appRoles: body.app_roles,
      }),
  }),
  route({
    method: 'GET',
    path: '/apis/:api',
    operationId: 'getApi',
    summary: 'Read an API (by id or URL-encoded audience)',
    tag: 'APIs',
    response: s.api,
    handler: ({ params, db }) => getApi(db, params.api!),
  }),
  route<undefined, z.infer<typeof s.updateApiBody>>({
    method: 'PATCH',
    path: '/apis/:api',
    operationId: 'updateApi',
    summary: 'Rename, toggle CAE, or replace scopes / app roles',
    tag: 'APIs',
    body: s.updateApiBody,
    response: s.api,
    handler: ({ params, body, directory }) =>
      updateApi(directory, params.api!, {
        name: body.name,
        caeEnabled: body.cae_enabled,
        scopes: body.scopes,
        appRoles: body.app_roles,
      }),
  }),
  route({
    method: 'DELETE',
    path: '/apis/:api',
    operationId: 'deleteApi',
    summary: 'Delete an API and its grants (built-in APIs cannot be deleted)',
    tag: 'APIs',
    handler: ({ params, directory }) => deleteApi(directory, params.api!),
  }),
];

export const grantRoutes: AdminRoute[] = [
  route<z.infer<typeof s.grantQuery>>({
    method: 'GET',
    path: '/grants',
    operationId: 'listGrants',
    summary: 'List grants, by application and/or API',
    tag: 'Grants',
    query: s.grantQuery,
    response: s.grantList,
    handler: async ({ query, db }) => ({ items: await listGrants(db, query) }),
  }),
  route<undefined, z.infer<typeof s.setGrantBody>>({
    method: 'PUT',
    path: '/grants',
    operationId: 'setGrant',
    summary: 'Create or replace the grant of an application to an API',
    tag: 'Grants',
    body: s.setGrantBody,
    response: s.grant,
    handler: ({ body, directory }) => grantApiAccess(directory, body),
  }),
  route<z.infer<typeof s.grantKeyQuery>>({
    method: 'DELETE',
    path: '/grants',
    operationId: 'revokeGrant',
    summary: 'Remove the grant of an application to an API',
    tag: 'Grants',
    query: s.grantKeyQuery,
    handler: ({ query, directory }) => revokeApiAccess(directory, query.application, query.api),
  }),
];
