/**
 * @module commands/verify
 * `coffer verify [POINT] [--read-data]`: checks that points are complete and, with
 * --read-data, that every blob downloads and opens.
 */
import { BlobReader, Verifier, resolvePoint, type PackDamage } from '@coffer/agent';
import { agentSession, type AgentOptions } from '../connect.js';
import { EXIT_FAILURE } from '../exit.js';
import { ProgressReporter, count, formatBytes, printJson, printLines } from '../output.js';
import { listPoints } from '../point-select.js';

export interface VerifyOptions extends AgentOptions {
  item?: string;
  readData?: boolean;
  json?: boolean;
}

/** What became of a pack verify found missing or damaged. */
function packOutcome(p: PackDamage): string {
  if (p.reportError !== undefined) return `not reported to the vault: ${p.reportError}`;
  if (p.vaultState === 'ok') return 'the vault re-checked it and finds it intact; run verify again';
  return `the vault re-checked it and marked it ${p.vaultState}: its blobs no longer count as stored, so the next backup uploads them again`;
}

/** Verifies one point or all of them. */
export async function verify(
  pointSpec: string | undefined,
  options: VerifyOptions,
): Promise<number> {
  const session = await agentSession(options);
  try {
    const points = await listPoints(session.client, session.sourceAgentId, options.item);
    const selected = pointSpec ? [resolvePoint(points, pointSpec)] : points;
    const verifier = new Verifier(
      new BlobReader(session.client, session.sourceAgentId, session.keys),
      options.readData === true,
    );
    const progress = new ProgressReporter(
      'verify',
      () => ({ files: verifier.result.files, bytesDone: verifier.result.bytesRead }),
      !options.json,
    );
    try {
      for (const point of selected) await verifier.verifyPoint(point.id);
    } finally {
      progress.stop();
    }
    const { result } = verifier;
    if (options.json) {
      const { damage, packs, ...stats } = result;
      printJson({ stats, damage, packs });
    } else {
      const points = new Set(result.damage.map((d) => d.point));
      printLines(
        ...result.damage.map(
          (d) => `damaged: point ${d.point.slice(0, 12)} ${d.path || '(point)'}: ${d.message}`,
        ),
        ...result.packs.map((p) => `pack ${p.pack}: ${packOutcome(p)}`),
        ...(points.size > 0
          ? [`Damaged points: ${[...points].map((id) => id.slice(0, 12)).join(', ')}`]
          : []),
        `Checked ${count(result.points, 'point')}, ${count(result.trees, 'directory', 'directories')}, ${count(result.files, 'file')}` +
          (options.readData ? `, read ${formatBytes(result.bytesRead)}` : '') +
          (result.damage.length === 0
            ? ': no damage found.'
            : `: ${count(result.damage.length, 'problem')}.`),
      );
    }
    return result.damage.length > 0 ? EXIT_FAILURE : 0;
  } finally {
    await session.client.close();
  }
}
