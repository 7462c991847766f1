import { z } from 'zod';
import { SSF_AUDIENCE, SSF_PERMISSIONS } from '../../built-in-apis.js';
import {
  addCertificate,
  addClientSecret,
  removeCertificate,
  resetClientSecret,
  revokeClientSecret,
} from '../../directory/application-credentials.js';
import {
  createApplication,
  getApplication,
  listApplications,
  listClientSecrets,
  updateApplication,
} from '../../directory/applications.js';
import { type Grant, grantApiAccess, listGrants } from '../../directory/grants.js';
import { setServicePrincipalRiskLevel } from '../../directory/risk.js';
import {
  deleteServicePrincipal,
  disableServicePrincipal,
  enableServicePrincipal,
} from '../../directory/service-principal-actions.js';
import { inTransaction } from '../../directory/transaction.js';
import { actionResult } from '../action-result.js';
import { type AdminRoute, route } from '../route.js';
import * as s from '../schemas.js';

type ReasonBody = z.infer<typeof s.reasonBody>;

export const applicationRoutes: AdminRoute[] = [
  route<z.infer<typeof s.applicationQuery>>({
    method: 'GET',
    path: '/applications',
    operationId: 'listApplications',
    summary: 'List applications with their service principals (by client_id, cursor-paginated)',
    tag: 'Applications',
    query: s.applicationQuery,
    response: s.applicationPage,
    handler: ({ query, db }) =>
      listApplications(db, {
        limit: query.limit,
        cursor: query.cursor,
        includeDeleted: query.include_deleted,
      }),
  }),
  route<undefined, z.infer<typeof s.createApplicationBody>>({
    method: 'POST',
    path: '/applications',
    operationId: 'createApplication',
    summary: 'Register an application (its secret is shown once), optionally with grants',
    tag: 'Applications',
    body: s.createApplicationBody,
    status: 201,
    response: s.createdApplication,
    handler: ({ body, directory }) =>
      // The application and its grants exist together or not at all.
      inTransaction(directory.db, async (trx) => {
        const scoped = { ...directory, db: trx };
        const created = await createApplication(scoped, {
          name: body.name,
          credential: body.credential,
          jwks: body.jwks,
          redirectUris: body.redirect_uris,
          secretExpiresAt: body.secret_expires_at ? new Date(body.secret_expires_at) : undefined,
        });
        const clientId = created.application.client_id;
        const grants: Grant[] = [];
        for (const grant of body.grants ?? [])
          grants.push(await grantApiAccess(scoped, { application: clientId, ...grant }));
        if (body.ssf_receiver)
          grants.push(
            await grantApiAccess(scoped, {
              application: clientId,
              api: SSF_AUDIENCE,
              roles: SSF_PERMISSIONS,
            }),
          );
        return { ...created, grants };
      }),
  }),
  route({
    method: 'GET',
    path: '/applications/:application',
    operationId: 'getApplication',
    summary: 'Read an application (by id, client_id or service principal id)',
    tag: 'Applications',
    response: s.application,
    handler: ({ params, db }) => getApplication(db, params.application!),
  }),
  route<undefined, z.infer<typeof s.updateApplicationBody>>({
    method: 'PATCH',
    path: '/applications/:application',
    operationId: 'updateApplication',
    summary: 'Rename an application or replace its redirect URIs',
    tag: 'Applications',
    body: s.updateApplicationBody,
    response: s.application,
    handler: ({ params, body, directory }) =>
      updateApplication(directory, params.application!, {
        name: body.name,
        redirectUris: body.redirect_uris,
      }),
  }),
  route<{ reason?: string | undefined }>({
    method: 'DELETE',
    path: '/applications/:application',
    operationId: 'deleteApplication',
    summary: 'Delete the application’s service principal (critical: RISC account-purged)',
    tag: 'Applications',
    query: z.strictObject({ reason: s.text(1000).optional() }),
    response: s.applicationAction,
    handler: async ({ params, query, directory }) =>
      actionResult('application', await deleteServicePrincipal(directory, params.application!, query)),
  }),
  route({
    method: 'GET',
    path: '/applications/:application/secrets',
    operationId: 'listClientSecrets',
    summary: 'List client secrets (hints only)',
    tag: 'Applications',
    response: z.object({ items: z.array(s.secretInfo) }),
    handler: async ({ params, db }) => ({ items: await listClientSecrets(db, params.application!) }),
  }),
  route<undefined, z.infer<typeof s.newSecretBody>>({
    method: 'POST',
    path: '/applications/:application/secrets',
    operationId: 'addClientSecret',
    summary: 'Add a client secret beside the others (critical: CAEP credential-change create)',
    tag: 'Applications',
    body: s.newSecretBody,
    status: 201,
    response: s.addSecretResult,
    handler: async ({ params, body, directory }) =>
      actionResult(
        'client_secret',
        await addClientSecret(directory, params.application!, {
          reason: body?.reason,
          expiresAt: body?.expires_at ? new Date(body.expires_at) : undefined,
        }),
      ),
  }),
  route<{ reason?: string | undefined }>({
    method: 'DELETE',
    path: '/applications/:application/secrets/:secret',
    operationId: 'revokeClientSecret',
    summary: 'Revoke one client secret (critical: CAEP credential-change revoke)',
    tag: 'Applications',
    query: z.strictObject({ reason: s.text(1000).optional() }),
    response: s.secretAction,
    handler: async ({ params, query, directory }) =>
      actionResult(
        'client_secret',
        await revokeClientSecret(directory, params.application!, params.secret!, query),
      ),
  }),
  route<undefined, z.infer<typeof s.newSecretBody>>({
    method: 'POST',
    path: '/applications/:application/reset-secret',
    operationId: 'resetClientSecret',
    summary: 'Revoke every secret and issue a new one (critical: CAEP credential-change update)',
    tag: 'Applications',
    body: s.newSecretBody,
    response: s.resetSecretResult,
    handler: async ({ params, body, directory }) => {
      const outcome = await resetClientSecret(directory, params.application!, {
        reason: body?.reason,
        expiresAt: body?.expires_at ? new Date(body.expires_at) : undefined,
      });
      return {
        application: outcome.result.application,
        client_secret: outcome.result.client_secret,
        changed: outcome.changed,
        txn: outcome.txn,
        events: outcome.events,
      };
    },
  }),
  route<undefined, z.infer<typeof s.addCertificateBody>>({
    method: 'POST',
    path: '/applications/:application/certificates',
    operationId: 'addCertificate',
    summary: 'Add a private_key_jwt public key (critical: CAEP credential-change x509 create)',
    tag: 'Applications',
    body: s.addCertificateBody,
    status: 201,
    response: s.applicationAction,
    handler: async ({ params, body, directory }) =>
      actionResult('application', await addCertificate(directory, params.application!, body.jwk, body)),
  }),
  route<{ reason?: string | undefined }>({
    method: 'DELETE',
    path: '/applications/:application/certificates/:kid',
    operationId: 'removeCertificate',
    summary: 'Remove a private_key_jwt public key (critical: CAEP credential-change x509 revoke)',
    tag: 'Applications',
    query: z.strictObject({ reason: s.text(1000).optional() }),
    response: s.applicationAction,
    handler: async ({ params, query, directory }) =>
      actionResult(
        'application',
        await removeCertificate(directory, params.application!, params.kid!, query),
      ),
  }),
  route({
    method: 'GET',
    path: '/applications/:application/grants',
    operationId: 'listApplicationGrants',
    summary: 'List the APIs the application is granted',
    tag: 'Applications',
    response: s.grantList,
    handler: async ({ params, db }) => ({
      items: await listGrants(db, { application: params.application! }),
    }),
  }),
];

const spTag = 'Service principals';

function servicePrincipalAction(
  path: string,
  operationId: string,
  summary: string,
  run: typeof disableServicePrincipal,
): AdminRoute {
  return route<undefined, ReasonBody>({
    method: 'POST',
    path: `/service-principals/:servicePrincipal/${path}`,
    operationId,
    summary,
    tag: spTag,
    body: s.reasonBody,
    response: s.applicationAction,
    handler: async ({ params, body, directory }) =>
      actionResult('application', await run(directory, params.servicePrincipal!, { reason: body?.reason })),
  });
}

export const servicePrincipalRoutes: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/service-principals/:servicePrincipal',
    operationId: 'getServicePrincipal',
    summary: 'Read a service principal with its application (by id, client_id or application id)',
    tag: spTag,
    response: s.application,
    handler: ({ params, db }) => getApplication(db, params.servicePrincipal!),
  }),
  servicePrincipalAction(
    'disable',
    'disableServicePrincipal',
    'Disable (critical: RISC account-disabled)',
    disableServicePrincipal,
  ),
  servicePrincipalAction(
    'enable',
    'enableServicePrincipal',
    'Enable (critical: RISC account-enabled)',
    enableServicePrincipal,
  ),
  route<{ reason?: string | undefined }>({
    method: 'DELETE',
    path: '/service-principals/:servicePrincipal',
    operationId: 'deleteServicePrincipal',
    summary: 'Delete (critical: RISC account-purged)',
    tag: spTag,
    query: z.strictObject({ reason: s.text(1000).optional() }),
    response: s.applicationAction,
    handler: async ({ params, query, directory }) =>
      actionResult('application', await deleteServicePrincipal(directory, params.servicePrincipal!, query)),
  }),
  route<undefined, z.infer<typeof s.riskBody>>({
    method: 'PUT',
    path: '/service-principals/:servicePrincipal/risk',
    operationId: 'setServicePrincipalRisk',
    summary: 'Set the risk level (critical: CAEP risk-level-change)',
    tag: spTag,
    body: s.riskBody,
    response: s.applicationAction,
    handler: async ({ params, body, directory }) =>
      actionResult(
        'application',
        await setServicePrincipalRiskLevel(directory, params.servicePrincipal!, {
          level: body.level,
          reason: body.reason,
        }),
      ),
  }),
];
