/**
 * @module daemon/systemd-unit
 * The systemd unit that runs `coffer agent run` from boot (a system unit) or from login (a user
 * unit), with the registration's config directory and stored-keys file named explicitly.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export const UNIT_NAME = 'coffer-agent.service';

export interface UnitOptions {
  /** A user unit (systemctl --user) instead of a system one. */
  user: boolean;
  /** The Node.js binary. */
  node: string;
  /** The coffer command's script (bin/coffer.js), absolute. */
  coffer: string;
  /** The registration's config directory, absolute. */
  configDir: string;
  /** The stored keys (coffer agent unlock), absolute. */
  keysFile: string;
}

/** Quotes a word for a systemd command line when it needs it. */
function quote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)
    ? word
    : `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The unit file's text. */
export function systemdUnit(options: UnitOptions): string {
  const command = [
    options.node,
    options.coffer,
    'agent',
    'run',
    '--config',
    options.configDir,
    '--keys',
    options.keysFile,
  ]
    .map(quote)
    .join(' ');
  return `# Written by 'coffer agent install-service'.
[Unit]
Description=Coffer agent: runs the backups and restores its vault schedules or asks for
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
# The keys in ${options.keysFile} open every backup of this machine's keyring: keep it 0600.
ExecStart=${command}
Restart=always
RestartSec=10
# Backups yield to the machine's own work.
Nice=10
IOSchedulingClass=best-effort
IOSchedulingPriority=7
# Stop lets a running backup end as failed and tell the vault so.
TimeoutStopSec=60

[Install]
WantedBy=${options.user ? 'default.target' : 'multi-user.target'}
`;
}

/** Where the unit goes: systemd's system or user unit directory. */
export function unitPath(user: boolean, env: NodeJS.ProcessEnv = process.env): string {
  if (!user) return join('/etc/systemd/system', UNIT_NAME);
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'systemd', 'user', UNIT_NAME);
}
