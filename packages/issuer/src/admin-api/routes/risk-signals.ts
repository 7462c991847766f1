import type { z } from 'zod';
import { applyRiskSignal } from '../../directory/risk.js';
import { type AdminRoute, route } from '../route.js';
import * as s from '../schemas.js';

export const riskSignalRoutes: AdminRoute[] = [
  route<undefined, z.infer<typeof s.riskSignalBody>>({
    method: 'POST',
    path: '/risk-signals',
    operationId: 'postRiskSignal',
    summary: 'Report a risk level from an external system (critical: CAEP risk-level-change)',
    tag: 'Risk',
    body: s.riskSignalBody,
    response: s.riskSignalResult,
    handler: async ({ body, directory }) => {
      const outcome = await applyRiskSignal(
        directory,
        { type: body.subject.type, reference: body.subject.id },
        { level: body.level, reason: body.reason, source: body.source },
      );
      const principal = outcome.result;
      return {
        subject: {
          type: body.subject.type,
          id: 'service_principal' in principal ? principal.service_principal.id : principal.id,
        },
        risk_level:
          'service_principal' in principal ? principal.service_principal.risk_level : principal.risk_level,
        changed: outcome.changed,
        txn: outcome.txn,
        events: outcome.events,
      };
    },
  }),
];
