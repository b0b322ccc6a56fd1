/**
 * @module commands/agent-unlock
 * `coffer agent unlock` stores this machine's opened keys (0600) for the daemon; `coffer agent
 * lock` deletes them, after which backups need the passphrase again.
 */
import { removeStoredKeys, saveStoredKeys, storedKeysPath } from '@coffer/agent';
import { agentConnection, unlockKeys, type AgentOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';

export interface UnlockOptions extends AgentOptions {
  json?: boolean;
}

/** Asks for the passphrase once and stores the opened keys. */
export async function agentUnlock(options: UnlockOptions): Promise<number> {
  const connection = await agentConnection({ ...options, agent: undefined });
  try {
    const path = storedKeysPath(connection.loaded.dir);
    // Always from the passphrase: this is where a wrong one must be caught.
    const keys = await unlockKeys(connection, options, { stored: false });
    await saveStoredKeys(path, keys);
    if (options.json) printJson({ keys: path });
    else
      printLines(
        `Stored the opened keys of keyring ${keys.keyringId} in ${path} (readable only by you).`,
        'The agent daemon (coffer agent run) now backs up and restores without the passphrase.',
        'Whoever can read that file can read every backup of this keyring: docs/security.md, "Unattended agents".',
        "Remove them with 'coffer agent lock'.",
      );
    return 0;
  } finally {
    await connection.client.close();
  }
}

/** Deletes the stored keys. */
export async function agentLock(options: UnlockOptions): Promise<number> {
  const connection = await agentConnection({ ...options, agent: undefined });
  try {
    const path = storedKeysPath(connection.loaded.dir);
    const removed = await removeStoredKeys(path);
    if (options.json) printJson({ keys: path, removed });
    else
      printLines(
        removed
          ? `Deleted ${path}: backups need the passphrase again, and the daemon will not start.`
          : `No stored keys at ${path}.`,
      );
    return 0;
  } finally {
    await connection.client.close();
  }
}
