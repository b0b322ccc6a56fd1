/**
 * @module commands/verify
 * `coffer verify [POINT] [--read-data]`: checks that points are complete and, with
 * --read-data, that every blob downloads and opens.
 */
import { BlobReader, Verifier, resolvePoint } from '@coffer/agent';
import { agentSession, type AgentOptions } from '../connect.js';
import { EXIT_FAILURE } from '../exit.js';
import { ProgressReporter, count, formatBytes, printJson, printLines } from '../output.js';

export interface VerifyOptions extends AgentOptions {
  item?: string;
  readData?: boolean;
  json?: boolean;
}

/** Verifies one point or all of them. */
export async function verify(
  pointSpec: string | undefined,
  options: VerifyOptions,
): Promise<number> {
  const session = await agentSession(options);
  try {
    const { points } = await session.client.points(session.sourceAgentId, options.item);
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
    if (options.json) printJson(result);
    else {
      printLines(
        ...result.damage.map(
          (d) => `damaged: point ${d.point.slice(0, 12)} ${d.path || '(point)'}: ${d.message}`,
        ),
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
