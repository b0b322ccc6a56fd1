import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planBinding, type DataDirState } from '../src/data-binding.js';
import { openMetadataDb, type MetadataDbProbe } from '../src/db/connect.js';
import { startVault } from '../src/serve.js';

const X = 'a'.repeat(32);
const Y = 'b'.repeat(32);
const dir = (instanceId: string | null, used: boolean): DataDirState => ({
  path: '/srv/coffer',
  instanceId,
  used,
});
const db = (instanceId: string | null, hasAdmin: boolean, dataDir = '/srv/coffer') =>
  ({ exists: true, instanceId, dataDir: instanceId ? dataDir : null, hasAdmin }) as const;
const absent: MetadataDbProbe = { exists: false };

describe('data directory binding: the decision', () => {
  it.each([
    ['bound pair', dir(X, true), db(X, true), 'bound'],
    ['fresh directory, fresh database', dir(null, false), absent, 'new'],
    ['fresh directory, migrated but unused database', dir(null, false), db(null, false), 'new'],
    ['older vault on its first start after the upgrade', dir(null, true), db(null, true), 'new'],
    ['start killed after the database was bound', dir(null, false), db(X, false), 'complete'],
    ['directory of X, database of Y', dir(X, true), db(Y, true), 'refuse'],
    ['directory of X, no database (newcomer trap)', dir(X, true), absent, 'refuse'],
    ['directory of X, an older unbound database', dir(X, true), db(null, true), 'refuse'],
    ['database of another directory', dir(null, false), db(X, true, '/elsewhere'), 'refuse'],
    ['older directory, database missing', dir(null, true), absent, 'refuse'],
    ['older directory, database never used', dir(null, true), db(null, false), 'refuse'],
    [
      'fresh directory, older used database (reverse trap)',
      dir(null, false),
      db(null, true),
      'refuse',
    ],
  ])('%s', (_name, d, probe, kind) => {
    expect(planBinding(d, probe, 'DB').kind).toBe(kind);
  });
});

describe('data directory binding: starts killed half way', () => {
  let data: string | undefined;
  afterEach(async () => {
    if (data) await rm(data, { recursive: true, force: true });
  });

  const start = () => startVault({ dataDir: data!, host: '127.0.0.1', port: 0 });

  it('completes a binding whose vault.json was never written, and adopts an admin token file', async () => {
    data = await mkdtemp(join(tmpdir(), 'coffer-binding-'));
    const first = await start();
    await first.close();
    const binding = await readFile(join(data, 'vault.json'), 'utf8');
    const token = await readFile(join(data, 'admin.token'), 'utf8');
    // As if killed after the database was bound but before vault.json, and before the admin
    // token's row was written.
    await rm(join(data, 'vault.json'));
    const meta = await openMetadataDb(`sqlite:${join(data, 'metadata.sqlite')}`);
    await meta.db.deleteFrom('tokens').execute();
    await meta.close();
    await writeFile(join(data, 'admin.token'), token);
    const second = await start();
    try {
      expect(await readFile(join(data, 'vault.json'), 'utf8')).toBe(binding);
      expect(await readFile(join(data, 'admin.token'), 'utf8')).toBe(token);
      expect(second.newAdminToken).toBe(token.trim());
      const whoami = await second.app.inject({
        method: 'GET',
        url: '/v1/whoami',
        headers: { authorization: `Bearer ${token.trim()}` },
      });
      expect(whoami.json()).toEqual({ kind: 'admin' });
    } finally {
      await second.close();
    }
  });
});
