/**
 * @module commands/tenant-list
 * `coffer tenant list`: every tenant, for the service admin.
 */
import type { AdminOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';
import { withClient, type JsonOption } from './admin.js';

/** Lists tenants by name. */
export function tenantList(options: AdminOptions & JsonOption): Promise<number> {
  return withClient(options, async (client) => {
    const result = await client.listTenants();
    if (options.json) printJson(result);
    else if (result.tenants.length === 0) printLines('No tenants yet: coffer tenant create NAME');
    else printLines(...result.tenants.map((t) => `${t.id}  ${t.name}  created ${t.createdAt}`));
    return 0;
  });
}
