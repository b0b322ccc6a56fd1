/**
 * @module commands/token-list
 * `coffer token list`: the tenant's user tokens with their state, never their secrets.
 */
import type { TokenInfo } from '@coffer/api';
import type { AdminOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';
import { withClient, type JsonOption } from './admin.js';

/** "active", "expired …" or "revoked …" as of `now`. */
export function tokenState(token: TokenInfo, now = Date.now()): string {
  if (token.revokedAt) return `revoked ${token.revokedAt}`;
  if (token.expiresAt && Date.parse(token.expiresAt) <= now) return `expired ${token.expiresAt}`;
  return token.expiresAt ? `active until ${token.expiresAt}` : 'active';
}

/** Lists tokens, oldest first. */
export function tokenList(options: AdminOptions & JsonOption): Promise<number> {
  return withClient(options, async (client) => {
    const result = await client.listTokens();
    if (options.json) printJson(result);
    else
      printLines(
        ...result.tokens.map(
          (t) => `${t.id}  ${t.name}  ${t.role}  created ${t.createdAt}  ${tokenState(t)}`,
        ),
      );
    return 0;
  });
}
