/**
 * @module commands/points
 * `coffer points`: lists recovery points of this machine (or, with --agent, of a machine this
 * one was granted).
 */
import { agentConnection, type AgentOptions } from '../connect.js';
import { formatBytes, printJson, printLines } from '../output.js';
import { listPoints } from '../point-select.js';

export interface PointsOptions extends AgentOptions {
  item?: string;
  json?: boolean;
}

/** Lists points, oldest first. */
export async function points(options: PointsOptions): Promise<number> {
  const { client, sourceAgentId } = await agentConnection(options);
  try {
    const points = await listPoints(client, sourceAgentId, options.item);
    if (options.json) printJson({ points });
    else if (points.length === 0) printLines('No recovery points yet: coffer backup PATH...');
    else
      printLines(
        'ID            TIME                      ITEM        FILES     SIZE',
        ...points.map(
          (p) =>
            `${p.id.slice(0, 12)}  ${p.endTime.padEnd(24)}  ${p.item.padEnd(10)}  ${String(p.stats.files).padStart(7)}  ${formatBytes(p.stats.bytes).padStart(10)}`,
        ),
      );
    return 0;
  } finally {
    await client.close();
  }
}
