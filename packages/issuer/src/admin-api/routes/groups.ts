import type { z } from 'zod';
import {
  addGroupMember,
  createGroup,
  deleteGroup,
  getGroup,
  listGroupMembers,
  listGroups,
  removeGroupMember,
} from '../../directory/groups.js';
import { type AdminRoute, route } from '../route.js';
import * as s from '../schemas.js';

const tag = 'Groups';

export const groupRoutes: AdminRoute[] = [
  route<z.infer<typeof s.pageQuery>>({
    method: 'GET',
    path: '/groups',
    operationId: 'listGroups',
    summary: 'List groups (by name, cursor-paginated)',
    tag,
    query: s.pageQuery,
    response: s.groupPage,
    handler: ({ query, db }) => listGroups(db, query),
  }),
  route<undefined, z.infer<typeof s.createGroupBody>>({
    method: 'POST',
    path: '/groups',
    operationId: 'createGroup',
    summary: 'Create a group',
    tag,
    body: s.createGroupBody,
    status: 201,
    response: s.group,
    handler: ({ body, directory }) => createGroup(directory, body),
  }),
  route({
    method: 'GET',
    path: '/groups/:group',
    operationId: 'getGroup',
    summary: 'Read a group (by id or name)',
    tag,
    response: s.group,
    handler: ({ params, db }) => getGroup(db, params.group!),
  }),
  route({
    method: 'DELETE',
    path: '/groups/:group',
    operationId: 'deleteGroup',
    summary: 'Delete a group',
    tag,
    handler: ({ params, directory }) => deleteGroup(directory, params.group!),
  }),
  route<z.infer<typeof s.pageQuery>>({
    method: 'GET',
    path: '/groups/:group/members',
    operationId: 'listGroupMembers',
    summary: 'List the members of a group',
    tag,
    query: s.pageQuery,
    response: s.userPage,
    handler: ({ params, query, db }) => listGroupMembers(db, params.group!, query),
  }),
  route({
    method: 'PUT',
    path: '/groups/:group/members/:user',
    operationId: 'addGroupMember',
    summary: 'Add a user to a group',
    tag,
    handler: ({ params, directory }) => addGroupMember(directory, params.group!, params.user!),
  }),
  route({
    method: 'DELETE',
    path: '/groups/:group/members/:user',
    operationId: 'removeGroupMember',
    summary: 'Remove a user from a group',
    tag,
    handler: ({ params, directory }) => removeGroupMember(directory, params.group!, params.user!),
  }),
];
