/**
 * @module commands/agent-keyring
 * `coffer agent keyring AGENT --out FILE`: writes an agent's wrapped keyring, so that another
 * machine can join it with `coffer register --keyring FILE` and the keyring's passphrase.
 */
import { CofferError } from '@coffer/core';
import { writeFile } from 'node:fs/promises';
import type { AdminOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';
import { withClient, type JsonOption } from './admin.js';

/** `coffer agent keyring AGENT --out FILE`. */
export function agentKeyring(
  agentId: string,
  options: AdminOptions & JsonOption & { out: string },
): Promise<number> {
  return withClient(options, async (client) => {
    const { keyringId, keyring } = await client.keyring(agentId);
    await writeFile(options.out, `${keyring}\n`, { mode: 0o600, flag: 'wx' }).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST')
          throw new CofferError('USAGE', `${options.out} exists; choose another --out`);
        throw error;
      },
    );
    if (options.json) printJson({ file: options.out, agentId, keyringId });
    else
      printLines(
        `Wrote keyring ${keyringId} of agent ${agentId} to ${options.out} (wrapped keys only).`,
        `On the machine to join it: npx coffer register --credentials FILE --keyring ${options.out}`,
      );
    return 0;
  });
}
