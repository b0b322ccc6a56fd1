/**
 * @module commands/audit-verify
 * `coffer audit verify`: has anyone edited, inserted or deleted audit entries?
 */
import type { AuditChainReport } from '@coffer/api';
import { CofferError } from '@coffer/core';
import type { AdminOptions } from '../connect.js';
import { count, printJson, printLines } from '../output.js';
import { withClient, type JsonOption } from './admin.js';

function chainName(chain: string): string {
  return chain === 'service' ? 'service log' : `tenant ${chain}`;
}

function describeChain(c: AuditChainReport): string {
  if (!c.problem) {
    return `${chainName(c.chain)}: ${count(c.entries, 'entry', 'entries')}, intact (head #${c.headSeq} ${c.headHash})`;
  }
  return `${chainName(c.chain)}: BROKEN: ${c.problem.message}`;
}

/** `coffer audit verify [--json]`; exits 1 when a chain does not verify. */
export function auditVerify(options: AdminOptions & JsonOption): Promise<number> {
  return withClient(options, async (client) => {
    const result = await client.verifyAudit();
    if (options.json) printJson(result);
    else printLines(...result.chains.map(describeChain));
    if (result.ok) return 0;
    const broken = result.chains.filter((c) => !c.ok);
    throw new CofferError(
      'AUDIT_TAMPERED',
      `the audit log of ${broken.map((c) => chainName(c.chain)).join(', ')} was tampered with (${broken[0]!.problem!.message}); compare with a backup of the metadata database to see what changed`,
    );
  });
}
