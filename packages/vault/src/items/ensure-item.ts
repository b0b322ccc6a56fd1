/**
 * @module items/ensure-item
 * The item a point or a manual backup belongs to, created (without paths or policy) the first
 * time an agent backs up under a new item name.
 */
import type { Kysely } from 'kysely';
import type { AgentTable, Database, ItemTable } from '../db/schema.js';
import { newEntityId } from '../secrets.js';

/** The agent's item named `name`, created if it does not exist. */
export async function ensureItem(
  db: Kysely<Database>,
  agent: Pick<AgentTable, 'id' | 'vault_id'>,
  name: string,
  now: number,
): Promise<ItemTable> {
  const find = () =>
    db
      .selectFrom('items')
      .selectAll()
      .where('agent_id', '=', agent.id)
      .where('name', '=', name)
      .executeTakeFirst();
  const existing = await find();
  if (existing) return existing;
  const row: ItemTable = {
    id: newEntityId('it'),
    vault_id: agent.vault_id,
    agent_id: agent.id,
    name,
    sources: null,
    policy_id: null,
    next_slot_at: null,
    last_slot_at: null,
    created_at: now,
    updated_at: now,
  };
  await db
    .insertInto('items')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .execute();
  // Another request may have created it first; either way this finds the one row.
  return (await find())!;
}
