/**
 * `npm run bench [-- --size small|default|files] [--files N] [--runs N] [--tools LIST]`: Coffer
 * side by side with restic and borg on the same deterministic dataset, in the same run, steps
 * in alternation; prints medians and ratios as Markdown and writes them to bench/results/.
 * Every restore is compared with its source, and kept until the end (see the restore step).
 * restic and borg are installed from Debian's
 * packages when missing; a tool that cannot be installed is left out and the report says so.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SHAPES, buildDataset, buildFilesDataset, mutate, mutateFiles } from './dataset.js';
import type { Measurement } from './measure.js';
import { BorgTool, CofferTool, ResticTool, type Tool } from './tools.js';

const STEPS = [
  'initial backup',
  'no-change backup',
  'backup after 1% change',
  'full restore',
  'verify (read all data)',
] as const;
type Step = (typeof STEPS)[number];

interface Row extends Measurement {
  stored?: number;
  /** Coffer only: the vault's SQLite database and its WAL, in bytes, after the step. */
  database?: number;
}

const USAGE = `usage: npm run bench -- [--size small|default|files] [--files N] [--runs N] [--tools LIST]

  --size    the dataset: small, default (large files) or files (many small files)
  --files   the number of files of the many-files dataset (default 300000; implies --size files)
  --runs    runs of each step per tool, medians reported (default 3)
  --tools   comma-separated: coffer, restic, "borg zstd,3", "borg lz4"

example: npm run bench -- --files 100000 --runs 1 --tools coffer,restic`;

/** A mistake in the command line: told in one line, exit status 2. */
class UsageError extends Error {}

/** Many-files datasets default to this many files (`--size files`). */
const FILES_DEFAULT = 300_000;

function installed(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs the peers to compare with from Debian's packages when they are missing, as the
 * comparison needs them; where that is not possible (not root, no apt) they are left out.
 */
function installFromDebian(tools: string[]): void {
  const missing = [...new Set(tools)].filter((t) => !installed(t));
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(', ')} from Debian's packages…`);
  try {
    execFileSync(
      'apt-get',
      ['install', '-y', ...missing.map((t) => (t === 'borg' ? 'borgbackup' : t)), 'time'],
      { stdio: 'inherit' },
    );
  } catch {
    console.log(`could not install ${missing.join(', ')}`);
  }
}

/** The tool's version line, or "not installed". */
function version(command: string, args: string[]): string {
  if (!installed(command)) return `${command} not installed`;
  return execFileSync(command, args)
    .toString()
    .trim()
    .split('\n')[0]!
    .split(' ')
    .slice(0, 2)
    .join(' ');
}

/** Throws unless `restored` holds exactly what `source` holds (names, types, contents). */
function compareTrees(source: string, restored: string): void {
  try {
    execFileSync('diff', ['-r', '-q', '--no-dereference', source, restored], {
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const out = String((error as { stdout?: Buffer }).stdout ?? '').slice(0, 2000);
    throw new Error(`the restore in ${restored} differs from ${source}:\n${out}`);
  }
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string' },
      files: { type: 'string' },
      runs: { type: 'string', default: '3' },
      tools: { type: 'string', default: 'coffer,restic,borg zstd,3,borg lz4' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const size = values.size ?? (values.files ? 'files' : 'default');
  const fileCount = Number(values.files ?? FILES_DEFAULT);
  if (size === 'files' && !(Number.isInteger(fileCount) && fileCount > 0))
    throw new UsageError(`--files ${values.files}: give a positive whole number of files`);
  const shape = size === 'files' ? undefined : SHAPES[size as 'small' | 'default'];
  if (size !== 'files' && !shape)
    throw new UsageError(`--size ${size}: use small, default or files`);
  const runs = Number(values.runs);
  const work = await mkdtemp(join(tmpdir(), 'coffer-bench-'));
  const dataset = join(work, 'dataset');
  const label =
    size === 'files' ? `files (${fileCount.toLocaleString('en')} files of 0–8 KiB)` : size;
  console.log(`building the ${label} dataset in ${dataset}…`);
  const logical = shape
    ? await buildDataset(dataset, shape)
    : buildFilesDataset(dataset, { files: fileCount });
  const onDisk = Number(execFileSync('du', ['-sb', dataset]).toString().split('\t')[0]);
  console.log(`dataset: ${(logical / 1e9).toFixed(2)} GB logical`);
  const factories: Record<string, () => Tool> = {
    coffer: () => new CofferTool(),
    restic: () => new ResticTool(),
    'borg zstd,3': () => new BorgTool('zstd,3'),
    'borg lz4': () => new BorgTool('lz4'),
  };
  const requested = (values.tools ?? '').split(/,(?=[a-z])/).filter((n) => n in factories);
  installFromDebian(requested.map((n) => n.split(' ')[0]!).filter((t) => t !== 'coffer'));
  const missing = requested.filter((n) => n !== 'coffer' && !installed(n.split(' ')[0]!));
  const names = requested.filter((n) => !missing.includes(n));
  if (missing.length > 0) console.log(`not installed, left out: ${missing.join(', ')}`);
  const results = new Map<string, Map<Step, Row[]>>(
    names.map((n) => [n, new Map(STEPS.map((s) => [s, []]))]),
  );
  for (let r = 1; r <= runs; r++) {
    // Each run starts with the next tool, so none always runs right after the same other one
    // (whose deleted files and written-back pages the file system is still digesting).
    const order = names.map((_, i) => names[(i + r - 1) % names.length]!);
    for (const name of order) {
      const tool = factories[name]!();
      const dir = join(work, `run-${r}-${name.replace(/\W/g, '')}`);
      await mkdir(dir, { recursive: true });
      const record = (step: Step, m: Row): void => {
        results.get(name)!.get(step)!.push(m);
        console.log(
          `run ${r} ${name.padEnd(12)} ${step.padEnd(24)} ${m.wallS.toFixed(1)} s wall, ${m.cpuS.toFixed(1)} s cpu, ${m.maxRssMiB.toFixed(0)} MiB rss` +
            (m.serviceRssMiB === undefined
              ? ''
              : `, vault ${m.serviceCpuS!.toFixed(1)} s cpu ${m.serviceRssMiB.toFixed(0)} MiB rss`) +
            (m.database === undefined
              ? ''
              : `, vault database ${(m.database / 1e6).toFixed(1)} MB`),
        );
      };
      try {
        // Inside the try: a setup that fails halfway must still stop the vault it started.
        await tool.setup(dir);
        const sizes = (): Pick<Row, 'stored' | 'database'> => ({
          stored: tool.storedBytes(),
          ...(tool instanceof CofferTool ? { database: tool.databaseBytes() } : {}),
        });
        record('initial backup', { ...(await tool.backup(dataset, 'b1')), ...sizes() });
        record('no-change backup', { ...(await tool.backup(dataset, 'b2')), ...sizes() });
        const originals = join(dir, 'originals');
        const revert = shape
          ? await mutate(dataset, shape, originals)
          : await mutateFiles(dataset, { files: fileCount }, originals);
        try {
          record('backup after 1% change', { ...(await tool.backup(dataset, 'b3')), ...sizes() });
          // Kept until the whole bench ends: ext4 passes over inodes freed in the last minutes
          // when it allocates one, so a restore that followed the removal of another's
          // hundreds of thousands of files spent most of its kernel time skipping them.
          const target = join(work, `restore-${r}-${name.replace(/\W/g, '')}`);
          record('full restore', { ...(await tool.restore(target)), ...sizes() });
          // Each tool restores the source at its absolute path below the target.
          compareTrees(dataset, join(target, dataset));
          record('verify (read all data)', { ...(await tool.verify()), ...sizes() });
        } finally {
          await revert();
        }
      } finally {
        await tool.teardown();
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
  const fmt = (n: number, digits = 1): string => n.toFixed(digits);
  const lines: string[] = [
    `# Coffer vs restic vs borg — ${new Date().toISOString().slice(0, 16)}Z`,
    '',
    `Dataset: ${label}, ${(logical / 1e9).toFixed(2)} GB logical (${(onDisk / 1e9).toFixed(2)} GB on disk); ${runs} run(s) with the tool order rotated, medians, each step after \`sync\`, every restore compared with its source and kept until the end; ${cpus().length} cores; Node ${process.version}; ${version('restic', ['version'])}; ${version('borg', ['--version'])}.`,
    ...(missing.length > 0
      ? ['', `Left out, not installed on this machine: ${missing.join(', ')}.`]
      : []),
    '',
    `| step | ${names.map((n) => `${n} wall s | ${n} cpu s | ${n} rss MiB`).join(' | ')} | coffer/restic wall | coffer/borg zstd,3 wall |`,
    `| --- | ${names.map(() => '---: | ---: | ---:').join(' | ')} | ---: | ---: |`,
  ];
  const med = (
    name: string,
    step: Step,
    key: 'wallS' | 'cpuS' | 'maxRssMiB' | 'serviceCpuS' | 'serviceRssMiB' | 'database',
  ): number =>
    median(
      results
        .get(name)!
        .get(step)!
        .map((m) => m[key] ?? 0),
    );
  for (const step of STEPS) {
    const ratio = (other: string): string =>
      names.includes('coffer') && names.includes(other)
        ? fmt(med('coffer', step, 'wallS') / med(other, step, 'wallS'), 2)
        : '—';
    lines.push(
      `| ${step} | ${names.map((n) => `${fmt(med(n, step, 'wallS'))} | ${fmt(med(n, step, 'cpuS'))} | ${fmt(med(n, step, 'maxRssMiB'), 0)}`).join(' | ')} | ${ratio('restic')} | ${ratio('borg zstd,3')} |`,
    );
  }
  if (names.includes('coffer')) {
    // The vault is a second process on the same cores; its CPU is not in the agent's column.
    lines.push(
      '',
      "Coffer's vault process (not in the table above) and its metadata database (SQLite file + WAL) after each step:",
      '',
      '| step | vault cpu s | vault peak rss MiB | agent + vault cpu s | vault database MB |',
      '| --- | ---: | ---: | ---: | ---: |',
    );
    for (const step of STEPS)
      lines.push(
        `| ${step} | ${fmt(med('coffer', step, 'serviceCpuS'))} | ${fmt(med('coffer', step, 'serviceRssMiB'), 0)} | ${fmt(med('coffer', step, 'cpuS') + med('coffer', step, 'serviceCpuS'))} | ${fmt(med('coffer', step, 'database') / 1e6)} |`,
      );
  }
  lines.push(
    '',
    '| stored bytes after | ' + names.join(' | ') + ' | coffer/restic | coffer/borg zstd,3 |',
    `| --- | ${names.map(() => '---:').join(' | ')} | ---: | ---: |`,
  );
  for (const step of ['initial backup', 'backup after 1% change'] as const) {
    const stored = (n: string): number =>
      median(
        results
          .get(n)!
          .get(step)!
          .map((m) => m.stored ?? 0),
      );
    const ratio = (other: string): string =>
      names.includes('coffer') && names.includes(other)
        ? fmt(stored('coffer') / stored(other), 3)
        : '—';
    lines.push(
      `| ${step} | ${names.map((n) => `${(stored(n) / 1e6).toFixed(1)} MB`).join(' | ')} | ${ratio('restic')} | ${ratio('borg zstd,3')} |`,
    );
  }
  const report = lines.join('\n') + '\n';
  console.log(`\n${report}`);
  const out = join(
    import.meta.dirname,
    'results',
    `${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}-${size === 'files' ? `files-${fileCount}` : size}.md`,
  );
  await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
  await writeFile(out, report);
  console.log(`written to ${out}`);
  await rm(work, { recursive: true, force: true });
}

await main().catch((error: unknown) => {
  const usage =
    error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  if (!usage) throw error;
  console.error(`bench: ${(error as Error).message}\n${USAGE}`);
  process.exitCode = 2;
});
