/**
 * @module routes/alerts
 * Listing and acknowledging a tenant's alerts, with the state of their deliveries.
 */
import { AlertList, AlertQuery, Alert, EntityId, ROUTES } from '@coffer/api';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { alertView } from '../alerts/views.js';
import type { AlertDeliveryTable } from '../db/schema.js';
import { requireUser, userVault } from '../plugins/auth.js';
import { HttpError } from '../plugins/errors.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/** Registers the alert routes. */
export function alertRoutes(app: FastifyInstance): void {
  const { db } = app.vault;

  async function deliveriesOf(ids: string[]): Promise<Map<string, AlertDeliveryTable[]>> {
    const byAlert = new Map<string, AlertDeliveryTable[]>();
    if (ids.length === 0) return byAlert;
    const rows = await db
      .selectFrom('alert_deliveries')
      .selectAll()
      .where('alert_id', 'in', ids)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    for (const row of rows) {
      const list = byAlert.get(row.alert_id) ?? [];
      list.push(row);
      byAlert.set(row.alert_id, list);
    }
    return byAlert;
  }

  app.get(
    ROUTES.alerts,
    { schema: { querystring: AlertQuery, response: { 200: AlertList } } },
    async (request) => {
      const user = requireUser(request, 'read');
      const query = request.query as AlertQuery;
      let rows = db.selectFrom('alerts').selectAll().where('tenant_id', '=', user.tenantId);
      if (query.vault !== undefined) {
        const vault = await userVault(app, request, query.vault, 'read');
        rows = rows.where('vault_id', '=', vault.id);
      }
      if (query.state !== undefined) rows = rows.where('state', '=', query.state);
      const alerts = await rows
        .orderBy('last_raised', 'desc')
        .orderBy('id')
        .limit(Math.max(1, Math.min(Number(query.limit ?? DEFAULT_LIMIT), MAX_LIMIT)))
        .execute();
      const deliveries = await deliveriesOf(alerts.map((a) => a.id));
      return { alerts: alerts.map((a) => alertView(a, deliveries.get(a.id) ?? [])) };
    },
  );

  app.post(
    ROUTES.alertAck,
    { schema: { params: Type.Object({ alert: EntityId }), response: { 200: Alert } } },
    async (request) => {
      const user = requireUser(request, 'operate');
      const { alert: alertId } = request.params as { alert: string };
      const token = await db
        .selectFrom('tokens')
        .select('name')
        .where('id', '=', user.tokenId)
        .executeTakeFirst();
      // Only an open alert changes: acknowledging twice, or a resolved one, answers it as it is.
      await db
        .updateTable('alerts')
        .set({
          state: 'acknowledged',
          acknowledged_at: app.vault.now(),
          acknowledged_by: token?.name ?? user.tokenId,
        })
        .where('id', '=', alertId)
        .where('tenant_id', '=', user.tenantId)
        .where('state', '=', 'open')
        .execute();
      const row = await db
        .selectFrom('alerts')
        .selectAll()
        .where('id', '=', alertId)
        .where('tenant_id', '=', user.tenantId)
        .executeTakeFirst();
      if (!row) throw new HttpError('NOT_FOUND', `no alert ${alertId} in this tenant`);
      return alertView(row, (await deliveriesOf([row.id])).get(row.id) ?? []);
    },
  );
}
