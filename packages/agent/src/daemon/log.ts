/**
 * @module daemon/log
 * The daemon's log: one JSON object per line, information on stdout and problems on stderr,
 * as systemd's journal and log shippers expect. Tokens and keys are never passed to it.
 */

export type LogFields = Record<string, string | number | boolean | undefined | string[]>;

export interface DaemonLog {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

interface Writer {
  write(text: string): unknown;
}

/** A log writing JSON lines (`{"time","level","msg",…fields}`) to `out` and `err`. */
export function jsonLog(
  out: Writer = process.stdout,
  err: Writer = process.stderr,
  now: () => Date = () => new Date(),
): DaemonLog {
  const line = (level: string, message: string, fields: LogFields = {}): string =>
    `${JSON.stringify({ time: now().toISOString(), level, msg: message, ...fields })}\n`;
  return {
    info: (message, fields) => void out.write(line('info', message, fields)),
    warn: (message, fields) => void err.write(line('warn', message, fields)),
    error: (message, fields) => void err.write(line('error', message, fields)),
  };
}
