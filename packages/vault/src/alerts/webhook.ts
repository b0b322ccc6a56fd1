/**
 * @module alerts/webhook
 * Posts an alert to a webhook: a JSON body signed with HMAC-SHA256 over
 * `TIMESTAMP.BODY` (docs/audit.md tells receivers how to check it).
 */
import { createHmac } from 'node:crypto';

/** How long one webhook call may take. */
const TIMEOUT_MS = 10_000;

/** `sha256=HEX` of HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/** The webhook's origin: enough to tell targets apart, without a path that may be a secret. */
export function webhookOrigin(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname === '/' && parsed.search === '' ? parsed.origin : `${parsed.origin}/…`;
}

/**
 * POSTs `body` to `url`, signed; resolves on a 2xx answer, else throws an error whose message
 * says why in a few words (the answer's body is never read: it is not ours to show).
 */
export async function postWebhook(options: {
  url: string;
  secret: string;
  body: string;
  deliveryId: string;
  /** Seconds since the epoch, by the vault's clock. */
  timestamp: number;
}): Promise<void> {
  const timestamp = String(options.timestamp);
  let response: Response;
  try {
    response = await fetch(options.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'coffer-vault',
        'x-coffer-delivery': options.deliveryId,
        'x-coffer-timestamp': timestamp,
        'x-coffer-signature': webhookSignature(options.secret, timestamp, options.body),
      },
      body: options.body,
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new Error(`webhook unreachable: ${reason}`);
  }
  await response.body?.cancel();
  if (response.status < 200 || response.status > 299) {
    throw new Error(`webhook answered HTTP ${response.status}`);
  }
}
