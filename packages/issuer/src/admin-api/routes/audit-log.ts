import type { z } from 'zod';
import { listAudit } from '../../directory/audit-log.js';
import { type AdminRoute, route } from '../route.js';
import * as s from '../schemas.js';

export const auditRoutes: AdminRoute[] = [
  route<z.infer<typeof s.auditQuery>>({
    method: 'GET',
    path: '/audit-log',
    operationId: 'listAuditLog',
    summary: 'Read the audit log, newest first (filters + cursor pagination)',
    tag: 'Audit',
    query: s.auditQuery,
    response: s.auditPage,
    handler: ({ query, db }) =>
      listAudit(db, {
        limit: query.limit,
        cursor: query.cursor,
        action: query.action,
        actor: query.actor,
        targetType: query.target_type,
        targetId: query.target_id,
        since: query.since ? new Date(query.since) : undefined,
        until: query.until ? new Date(query.until) : undefined,
      }),
  }),
];
