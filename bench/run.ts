/**
 * `npm run bench [-- --size small|default] [--runs N]`: Coffer side by side with restic and borg
 * on the same deterministic dataset, in the same run, steps in alternation; prints medians and
 * ratios as Markdown and writes them to bench/results/.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SHAPES, buildDataset, mutate } from './dataset.js';
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
}

function ensureTools(): void {
  const missing = ['restic', 'borg'].filter((t) => {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`]);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(', ')} from Debian's packages…`);
  execFileSync(
    'apt-get',
    ['install', '-y', ...missing.map((t) => (t === 'borg' ? 'borgbackup' : t)), 'time'],
    { stdio: 'inherit' },
  );
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: 'default' },
      runs: { type: 'string', default: '3' },
      tools: { type: 'string', default: 'coffer,restic,borg zstd,3,borg lz4' },
    },
  });
  const size = values.size as 'small' | 'default';
  const shape = SHAPES[size];
  if (!shape) throw new Error(`--size ${values.size}: use small or default`);
  const runs = Number(values.runs);
  ensureTools();
  const work = await mkdtemp(join(tmpdir(), 'coffer-bench-'));
  const dataset = join(work, 'dataset');
  console.log(`building the ${size} dataset in ${dataset}…`);
  const logical = await buildDataset(dataset, shape);
  const onDisk = Number(execFileSync('du', ['-sb', dataset]).toString().split('\t')[0]);
  console.log(`dataset: ${(logical / 1e9).toFixed(2)} GB logical`);
  const factories: Record<string, () => Tool> = {
    coffer: () => new CofferTool(),
    restic: () => new ResticTool(),
    'borg zstd,3': () => new BorgTool('zstd,3'),
    'borg lz4': () => new BorgTool('lz4'),
  };
  const names = (values.tools ?? '').split(/,(?=[a-z])/).filter((n) => n in factories);
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
      await tool.setup(dir);
      const record = (step: Step, m: Row): void => {
        results.get(name)!.get(step)!.push(m);
        console.log(
          `run ${r} ${name.padEnd(12)} ${step.padEnd(24)} ${m.wallS.toFixed(1)} s wall, ${m.cpuS.toFixed(1)} s cpu, ${m.maxRssMiB.toFixed(0)} MiB rss`,
        );
      };
      try {
        record('initial backup', {
          ...(await tool.backup(dataset, 'b1')),
          stored: tool.storedBytes(),
        });
        record('no-change backup', await tool.backup(dataset, 'b2'));
        const revert = await mutate(dataset, shape, join(dir, 'originals'));
        try {
          record('backup after 1% change', {
            ...(await tool.backup(dataset, 'b3')),
            stored: tool.storedBytes(),
          });
          const target = join(dir, 'restore');
          record('full restore', await tool.restore(target));
          await rm(target, { recursive: true, force: true });
          record('verify (read all data)', await tool.verify());
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
    `Dataset: ${size}, ${(logical / 1e9).toFixed(2)} GB logical (${(onDisk / 1e9).toFixed(2)} GB on disk); ${runs} run(s) with the tool order rotated, medians, each step after \`sync\`; ${cpus().length} cores; Node ${process.version}; ${execFileSync('restic', ['version']).toString().trim().split(' ').slice(0, 2).join(' ')}; ${execFileSync('borg', ['--version']).toString().trim()}.`,
    '',
    `| step | ${names.map((n) => `${n} wall s | ${n} cpu s | ${n} rss MiB`).join(' | ')} | coffer/restic wall | coffer/borg zstd,3 wall |`,
    `| --- | ${names.map(() => '---: | ---: | ---:').join(' | ')} | ---: | ---: |`,
  ];
  const med = (name: string, step: Step, key: 'wallS' | 'cpuS' | 'maxRssMiB'): number =>
    median(
      results
        .get(name)!
        .get(step)!
        .map((m) => m[key]),
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
    const vault = STEPS.map((step) => {
      const values = results
        .get('coffer')!
        .get(step)!
        .map((m) => m.serviceCpuS ?? 0);
      return `${step} ${fmt(median(values))} s`;
    });
    lines.push('', `Coffer's vault process CPU (not in the table above): ${vault.join('; ')}.`);
  }
  lines.push(
    '',
    '| stored bytes after | ' + names.join(' | ') + ' | coffer/borg zstd,3 |',
    `| --- | ${names.map(() => '---:').join(' | ')} | ---: |`,
  );
  for (const step of ['initial backup', 'backup after 1% change'] as const) {
    const stored = (n: string): number =>
      median(
        results
          .get(n)!
          .get(step)!
          .map((m) => m.stored ?? 0),
      );
    const ratio =
      names.includes('coffer') && names.includes('borg zstd,3')
        ? fmt(stored('coffer') / stored('borg zstd,3'), 3)
        : '—';
    lines.push(
      `| ${step} | ${names.map((n) => `${(stored(n) / 1e6).toFixed(1)} MB`).join(' | ')} | ${ratio} |`,
    );
  }
  const report = lines.join('\n') + '\n';
  console.log(`\n${report}`);
  const out = join(
    import.meta.dirname,
    'results',
    `${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}-${size}.md`,
  );
  await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
  await writeFile(out, report);
  console.log(`written to ${out}`);
  await rm(work, { recursive: true, force: true });
}

await main();
