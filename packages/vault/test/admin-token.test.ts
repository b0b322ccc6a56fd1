import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPgDatabase, type TestDb } from '../../cli/test/e2e/harness.js';
import { resetAdminToken } from '../src/admin-token.js';
import { openMetadataDb } from '../src/db/connect.js';
import { hashSecret } from '../src/secrets.js';

describe.each(['sqlite', 'postgres'] as const)('admin reset-token (%s metadata)', (dialect) => {
  let dir: string | undefined;
  let pgDb: TestDb | undefined;

  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await pgDb?.drop();
  });

  it('revokes every admin token and writes a new working one, 0600', async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-reset-'));
    pgDb = dialect === 'postgres' ? await createPgDatabase() : undefined;
    const db = pgDb?.url;
    const url = db ?? `sqlite:${join(dir, 'metadata.sqlite')}`;
    const before = await openMetadataDb(url);
    await before.close();

    const first = await resetAdminToken({ dataDir: dir, ...(db ? { db } : {}) });
    expect(first.revoked).toBe(0);
    const firstToken = (await readFile(first.path, 'utf8')).trim();
    const second = await resetAdminToken({ dataDir: dir, ...(db ? { db } : {}), now: () => 5 });
    expect(second.revoked).toBe(1);
    expect((await stat(second.path)).mode & 0o777).toBe(0o600);
    const secondToken = (await readFile(second.path, 'utf8')).trim();
    expect(secondToken).toMatch(/^cft_admin_/);
    expect(secondToken).not.toBe(firstToken);

    const meta = await openMetadataDb(url);
    try {
      const rows = await meta.db
        .selectFrom('tokens')
        .select(['hash', 'revoked_at'])
        .where('kind', '=', 'admin')
        .execute();
      const state = new Map(rows.map((r) => [r.hash, r.revoked_at]));
      expect(state.get(hashSecret(firstToken))).toBe(5);
      expect(state.get(hashSecret(secondToken))).toBeNull();
    } finally {
      await meta.close();
    }
  });

  it('names the missing database rather than creating one', async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-reset-'));
    await expect(resetAdminToken({ dataDir: dir })).rejects.toThrow(/pass the --db it runs with/);
    await expect(stat(join(dir, 'metadata.sqlite'))).rejects.toThrow();
    await expect(resetAdminToken({ dataDir: join(dir, 'nope') })).rejects.toThrow(
      /no such vault data directory/,
    );
  });
});
