/**
 * @module program/audit
 * `coffer audit`: read and verify the tamper-evident audit log (tenant owner, service admin).
 */
import type { Command } from 'commander';
import { adminOptions, type Lazy } from './options.js';

/** Adds `coffer audit` and `coffer audit verify`. */
export function addAuditCommands(program: Command, lazy: Lazy): void {
  const audit = program
    .command('audit')
    .description('the audit log: every state-changing call, who made it, and its outcome')
    .addHelpText('after', '\nExample:\n  coffer audit --since 7d\n  coffer audit verify');
  adminOptions(
    audit
      .command('list', { isDefault: true })
      .description('print audit entries, oldest first (the default of "coffer audit")')
      .option(
        '--since <time>',
        'only entries from TIME (2025-01-31, 2025-01-31T12:00Z) or AGE ago (30m, 24h, 7d)',
      )
      .option('--tenant <id>', "service admin: read this tenant's log (default: the service log)")
      .addHelpText(
        'after',
        '\nExample:\n  coffer audit --since 24h\n  coffer audit --since 2025-01-01 --json > audit.json',
      ),
  ).action(lazy(() => import('../commands/audit-list.js'), 'auditList'));
  adminOptions(
    audit
      .command('verify')
      .description('recompute the hash chain; names the first entry edited, inserted or deleted')
      .addHelpText(
        'after',
        '\nExample:\n  coffer audit verify || echo "the audit log was tampered with"',
      ),
  ).action(lazy(() => import('../commands/audit-verify.js'), 'auditVerify'));
}
