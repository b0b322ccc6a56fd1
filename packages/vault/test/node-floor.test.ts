import { readFile } from 'node:fs/promises';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);

// `npm ci` on the oldest supported Node must not warn that a dependency needs a newer one
// (an EBADENGINE warning is how a broken install first shows).
describe('dependencies and the supported Node versions', () => {
  it('every locked package accepts the oldest Node the project supports', async () => {
    const manifest = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as {
      engines: { node: string };
    };
    const lock = JSON.parse(await readFile(new URL('package-lock.json', root), 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } | string[] }>;
    };
    const floor = semver.minVersion(manifest.engines.node)!.version;
    const refused = Object.entries(lock.packages)
      .map(([path, entry]) => ({
        path,
        node: Array.isArray(entry.engines) ? undefined : entry.engines?.node,
      }))
      .filter(({ node }) => node !== undefined && !semver.satisfies(floor, node))
      .map(({ path, node }) => `${path} needs node ${node}`);
    expect(refused).toEqual([]);
  });
});
