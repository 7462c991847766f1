/** The Conditional Access module: admin routes under /admin/v1 and the resources' policy sync endpoint. */
import type { IssuerModule } from '../context.js';
import { CONDITIONAL_ACCESS_ADMIN_OPERATIONS, conditionalAccessAdminRoutes } from './admin-routes.js';
import { locationPolicySyncRoutes } from './sync-routes.js';

export function conditionalAccessModule(): IssuerModule {
  return {
    name: 'conditional-access',
    async register(app, context) {
      await app.register(conditionalAccessAdminRoutes(context), { prefix: '/admin/v1' });
      context.adminOperations.push(...CONDITIONAL_ACCESS_ADMIN_OPERATIONS);
      await app.register(locationPolicySyncRoutes(context));
    },
  };
}
