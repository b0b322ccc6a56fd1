/**
 * Runs a command under GNU time and reports wall time, CPU time and peak RSS.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measurement {
  wallS: number;
  cpuS: number;
  maxRssMiB: number;
  /** CPU of a service process the command talks to (Coffer's vault), during the command. */
  serviceCpuS?: number;
  /** Peak RSS of that service process during the command. */
  serviceRssMiB?: number;
}

const TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** User + system CPU seconds a live process has used so far (Linux /proc). */
export async function processCpuS(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/**
 * Starts a new peak-RSS window for a live process: writing 5 to clear_refs resets the kernel's
 * high-water mark (VmHWM), so the next `peakRssMiB` covers only what runs in between.
 */
export async function resetPeakRss(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

/** Peak RSS of a live process since it started or since `resetPeakRss`, in MiB. */
export async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kib ?? 0) / 1024;
}

/** Runs `argv` (throwing on a non-zero exit unless allowed) and measures it. */
export async function measure(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; allowExit?: number[] } = {},
): Promise<Measurement> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-bench-time-'));
  const out = join(dir, 'time');
  // Dirty pages left by an earlier step or tool would be written back on this step's time.
  execFileSync('sync');
  try {
    const started = process.hrtime.bigint();
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', out, ...argv], {
        env: { ...process.env, ...options.env },
        cwd: options.cwd,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      child.on('error', reject);
      child.on('close', (c) => {
        if (c !== 0 && !(options.allowExit ?? []).includes(c ?? -1)) {
          reject(new Error(`${argv.join(' ')} exited with ${c}: ${stderr}`));
        } else resolve(c ?? 0);
      });
    });
    void code;
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const [, user, sys, rssKiB] = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .at(-1)!
      .split(' ')
      .map(Number);
    return { wallS: wall, cpuS: user! + sys!, maxRssMiB: rssKiB! / 1024 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
