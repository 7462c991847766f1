import type { AdminRoute } from '../route.js';
import { apiRoutes, grantRoutes } from './apis.js';
import { applicationRoutes, servicePrincipalRoutes } from './applications.js';
import { auditRoutes } from './audit-log.js';
import { groupRoutes } from './groups.js';
import { riskSignalRoutes } from './risk-signals.js';
import { signingKeyRoutes } from './signing-keys.js';
import { userRoutes } from './users.js';

/** Every admin API operation, in the order the OpenAPI document lists them. */
export const adminRoutes: readonly AdminRoute[] = [
  ...userRoutes,
  ...groupRoutes,
  ...applicationRoutes,
  ...servicePrincipalRoutes,
  ...apiRoutes,
  ...grantRoutes,
  ...riskSignalRoutes,
  ...auditRoutes,
  ...signingKeyRoutes,
];
