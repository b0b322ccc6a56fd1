/**
 * @module alerts/message
 * What a notification says: the webhook's JSON body and the e-mail's subject and text.
 */
import type { AlertTable } from '../db/schema.js';
import { alertView } from './views.js';

/** The webhook body (docs/audit.md): the alert, its vault's name, and the delivery id. */
export function webhookBody(
  alert: AlertTable,
  vaultName: string | null,
  deliveryId: string,
): string {
  const { deliveries: _, ...view } = alertView(alert, []);
  return JSON.stringify({
    type: 'alert',
    delivery: deliveryId,
    alert: { ...view, ...(vaultName === null ? {} : { vaultName }) },
  });
}

/** The e-mail of an alert: a one-line subject and a short plain-text body. */
export function mailMessage(
  alert: AlertTable,
  vaultName: string | null,
): { subject: string; text: string } {
  const where = vaultName === null ? 'your Coffer tenant' : `vault ${vaultName}`;
  return {
    subject: `[Coffer] ${alert.severity}: ${alert.message}`.slice(0, 200),
    text: [
      `Coffer raised a ${alert.severity} alert in ${where}:`,
      '',
      `  ${alert.message}`,
      '',
      `kind:    ${alert.kind}`,
      `subject: ${alert.subject}`,
      `raised:  ${new Date(alert.first_raised).toISOString()}`,
      `alert:   ${alert.id}`,
      '',
      `See it with 'coffer alerts'; acknowledge it with 'coffer alert ack ${alert.id}'.`,
      '',
    ].join('\n'),
  };
}
