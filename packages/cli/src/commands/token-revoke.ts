/**
 * @module commands/token-revoke
 * `coffer token revoke TOKEN`: revokes a user token named by its name or id.
 */
import { CofferError } from '@coffer/core';
import type { AdminOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';
import { withClient, type JsonOption } from './admin.js';

/** Revokes the token; it stops working at once. */
export function tokenRevoke(spec: string, options: AdminOptions & JsonOption): Promise<number> {
  return withClient(options, async (client) => {
    const { tokens } = await client.listTokens();
    // Names are unique among tokens not revoked; a revoked one is found by id only.
    const token =
      tokens.find((t) => t.id === spec) ?? tokens.find((t) => t.name === spec && !t.revokedAt);
    if (!token) {
      throw new CofferError(
        'NOT_FOUND',
        `no token ${spec} in this tenant ('coffer token list' shows them)`,
      );
    }
    await client.revokeToken(token.id);
    const { tokens: after } = await client.listTokens();
    const revoked = after.find((t) => t.id === token.id) ?? token;
    if (options.json) printJson({ token: revoked });
    else printLines(`Revoked token ${token.name} (${token.id}): it no longer works.`);
    return 0;
  });
}
