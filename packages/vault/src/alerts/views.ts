/**
 * @module alerts/views
 * Alerts and deliveries as the API (and the webhook body) shows them.
 */
import type { Alert, AlertDelivery } from '@coffer/api';
import type { AlertDeliveryTable, AlertTable } from '../db/schema.js';
import { webhookOrigin } from './webhook.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** A delivery row as the API shows it: a webhook only by its origin. */
export function deliveryView(row: AlertDeliveryTable): AlertDelivery {
  const view: AlertDelivery = {
    id: row.id,
    channel: row.channel,
    target: row.channel === 'webhook' ? webhookOrigin(row.target) : row.target,
    state: row.state,
    attempts: row.attempts,
  };
  if (row.last_error !== null) view.lastError = row.last_error;
  if (row.last_attempt_at !== null) view.lastAttemptAt = iso(row.last_attempt_at);
  if (row.state === 'pending') view.nextAttemptAt = iso(row.next_attempt_at);
  if (row.delivered_at !== null) view.deliveredAt = iso(row.delivered_at);
  return view;
}

/** An alert row with its deliveries as the API shows it. */
export function alertView(row: AlertTable, deliveries: AlertDeliveryTable[]): Alert {
  const view: Alert = {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind,
    subject: row.subject,
    severity: row.severity,
    state: row.state,
    message: row.message,
    firstRaised: iso(row.first_raised),
    lastRaised: iso(row.last_raised),
    count: row.count,
    deliveries: deliveries.map(deliveryView),
  };
  if (row.vault_id !== null) view.vaultId = row.vault_id;
  if (row.acknowledged_at !== null) view.acknowledgedAt = iso(row.acknowledged_at);
  if (row.acknowledged_by !== null) view.acknowledgedBy = row.acknowledged_by;
  if (row.resolved_at !== null) view.resolvedAt = iso(row.resolved_at);
  return view;
}
