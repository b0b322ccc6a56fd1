/**
 * @module commands/agent-remove
 * `coffer agent remove AGENT`: removes a machine from its vault. Its token stops working at
 * once; its recovery points stay (tenant users and granted machines can still restore them).
 */
import type { AdminOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';
import { withClient, type JsonOption } from './admin.js';

/** Removes the agent. */
export function agentRemove(agentId: string, options: AdminOptions & JsonOption): Promise<number> {
  return withClient(options, async (client) => {
    await client.removeAgent(agentId);
    if (options.json) printJson({ agent: { id: agentId } });
    else
      printLines(
        `Removed agent ${agentId}: its token no longer works; its recovery points stay.`,
        'To protect that machine again, register it with new credentials.',
      );
    return 0;
  });
}
