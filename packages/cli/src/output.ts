/**
 * @module output
 * How the CLI talks: results on stdout (text, or JSON with --json), progress and warnings on
 * stderr (a live line on a terminal, a quiet line every few seconds otherwise).
 */

/** `n` and a noun, plural unless n is 1: count(3, 'file') is "3 files". */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

/** Human-readable bytes (IEC units). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(n)} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** h:mm:ss or m:ss. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** Prints `value` as JSON (one document) on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints lines on stdout. */
export function printLines(...lines: string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Writes to stdout and waits while the reader is behind, so long listings stay in bounded memory. */
export async function writeStdout(text: string): Promise<void> {
  if (!process.stdout.write(text)) {
    await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  }
}

/**
 * One JSON document whose list is streamed as it is found: `{...head, "KEY": [items]}`. `end`
 * closes it, also after a failure, so stdout always holds valid JSON.
 */
export class JsonListWriter {
  private first = true;
  private ended = false;

  constructor(
    private readonly key: string,
    head: Record<string, unknown>,
  ) {
    const fields = Object.entries(head).map(
      ([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},\n`,
    );
    process.stdout.write(`{\n${fields.join('')}  ${JSON.stringify(key)}: [`);
  }

  /** Adds one item to the list. */
  async item(value: unknown): Promise<void> {
    await writeStdout(`${this.first ? '\n' : ',\n'}    ${JSON.stringify(value)}`);
    this.first = false;
  }

  /** Closes the list and the document. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    process.stdout.write(`${this.first ? '' : '\n  '}]\n}\n`);
  }
}

/** A warning on stderr. */
export function printWarning(path: string, message: string): void {
  process.stderr.write(`warning: ${path}: ${message}\n`);
}

/** What progress lines and prompts share: a prompt waiting for input pauses every progress line. */
const terminal = { prompts: 0, liveLine: false, pausedMs: 0 };

/**
 * Runs `ask` (which prompts on the terminal) with progress paused: a live progress line is
 * cleared first, and nothing is drawn until the answer is in.
 */
export async function whilePrompting<T>(ask: () => Promise<T>): Promise<T> {
  if (terminal.liveLine) {
    process.stderr.write('\r\x1b[K');
    terminal.liveLine = false;
  }
  terminal.prompts++;
  const since = Date.now();
  try {
    return await ask();
  } finally {
    terminal.prompts--;
    terminal.pausedMs += Date.now() - since;
  }
}

export interface ProgressSnapshot {
  files: number;
  filesTotal?: number | undefined;
  bytesDone: number;
  bytesTotal?: number | undefined;
  currentPath?: string;
  extra?: string;
}

/** Reports progress while long work runs; call `stop` at the end. */
export class ProgressReporter {
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();
  /** Time spent in prompts before this reporter started, not counted as work. */
  private readonly pausedBefore = terminal.pausedMs;
  private lastQuiet = Date.now();
  private readonly live: boolean;

  constructor(
    private readonly label: string,
    private readonly snapshot: () => ProgressSnapshot,
    enabled: boolean,
  ) {
    this.live = enabled && process.stderr.isTTY === true;
    if (!enabled) return;
    this.timer = setInterval(() => this.tick(), this.live ? 250 : 1000);
    this.timer.unref();
  }

  private line(): string {
    const s = this.snapshot();
    const elapsed = (Date.now() - this.started - (terminal.pausedMs - this.pausedBefore)) / 1000;
    const rate = elapsed > 0 ? s.bytesDone / elapsed : 0;
    const files = s.filesTotal === undefined ? `${s.files}` : `${s.files}/${s.filesTotal}`;
    let bytes = formatBytes(s.bytesDone);
    let eta = '';
    if (s.bytesTotal !== undefined && s.bytesTotal > 0) {
      const pct = Math.min(100, (100 * s.bytesDone) / s.bytesTotal);
      bytes += ` / ${formatBytes(s.bytesTotal)} (${pct.toFixed(0)}%)`;
      if (rate > 0 && s.bytesDone < s.bytesTotal) {
        eta = ` ETA ${formatDuration((s.bytesTotal - s.bytesDone) / rate)}`;
      }
    }
    const extra = s.extra ? ` ${s.extra}` : '';
    return `${this.label} ${formatDuration(elapsed)} files ${files}, ${bytes}, ${formatBytes(rate)}/s${eta}${extra}`;
  }

  private tick(): void {
    if (terminal.prompts > 0) return;
    if (this.live) {
      terminal.liveLine = true;
      const columns = process.stderr.columns || 100;
      let text = this.line();
      const path = this.snapshot().currentPath;
      if (path) text += `  ${path}`;
      process.stderr.write(`\r\x1b[K${text.slice(0, columns - 1)}`);
    } else if (Date.now() - this.lastQuiet >= 10_000) {
      this.lastQuiet = Date.now();
      process.stderr.write(`${this.line()}\n`);
    }
  }

  /** Stops reporting and clears the live line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.live && terminal.prompts === 0) {
      process.stderr.write('\r\x1b[K');
      terminal.liveLine = false;
    }
  }
}
