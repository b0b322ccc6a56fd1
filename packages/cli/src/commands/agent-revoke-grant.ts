/**
 * @module commands/agent-revoke-grant
 * `coffer agent revoke-grant AGENT --from GRANTEE`: takes back what `coffer agent grant` gave.
 */
import type { AdminOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';
import { withClient, type JsonOption } from './admin.js';

/** Revokes GRANTEE's permission to read AGENT's points. */
export function agentRevokeGrant(
  agentId: string,
  options: AdminOptions & JsonOption & { from: string },
): Promise<number> {
  return withClient(options, async (client) => {
    await client.revokeGrant(agentId, options.from);
    if (options.json) printJson({ grant: { agentId, granteeId: options.from } });
    else printLines(`Agent ${options.from} may no longer read the points of agent ${agentId}.`);
    return 0;
  });
}
