/**
 * @module commands/token-create
 * `coffer token create NAME --role ROLE [--expires DURATION]`.
 */
import type { Role } from '@coffer/api';
import type { AdminOptions } from '../connect.js';
import { parseDuration } from '../duration.js';
import { printJson, printLines } from '../output.js';
import { withClient, type JsonOption } from './admin.js';

/** Creates a user token and prints it once. */
export function tokenCreate(
  name: string,
  options: AdminOptions & JsonOption & { role: Role; expires?: string },
): Promise<number> {
  const lifetime = options.expires === undefined ? undefined : parseDuration(options.expires);
  return withClient(options, async (client) => {
    const { token: secret, ...token } = await client.createToken(
      name,
      options.role,
      lifetime === undefined ? undefined : lifetime / 1000,
    );
    if (options.json) printJson({ token, secret });
    else
      printLines(
        `Created ${token.role} token ${token.name} (${token.id})` +
          (token.expiresAt ? `, valid until ${token.expiresAt}` : '') +
          '. Shown once, keep it secret:',
        `  ${secret}`,
        `To revoke it: coffer token revoke ${token.name}`,
      );
    return 0;
  });
}
