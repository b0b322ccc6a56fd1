/**
 * Issue 9, security points: a hostile client, co-agent or tenant against a real vault process.
 * docs/security.md names these tests for each promise it makes.
 */
import { ROUTES, route, type VaultCredentials } from '@coffer/api';
import { saveAgent } from '@coffer/agent';
import { openMetadataDb } from '@coffer/vault';
import {
  BlobType,
  PackWriter,
  blobId,
  createKeyring,
  encodeManifest,
  encodeTree,
  EntryType,
  openKeyring,
  sealBlob,
  type FinishedPack,
  type MasterKeys,
  type TreeEntry,
} from '@coffer/core';
import { randomBytes } from 'node:crypto';
import { access, chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPgDatabase,
  json,
  Machine,
  PASSPHRASE,
  registerMachine,
  runCoffer,
  setupTenant,
  tempDir,
  VaultProcess,
  type TenantSetup,
  type TestDb,
} from './harness.js';
import { pinnedDispatcherForTests, sendLargeBody } from './http.js';

const MiB = 1024 * 1024;
/** Point statistics of nothing, for points the tests commit by hand. */
const NO_STATS = {
  files: 0,
  directories: 0,
  otherEntries: 0,
  bytes: 0,
  newFiles: 0,
  changedFiles: 0,
  unchangedFiles: 0,
  addedBytes: 0,
  storedBytes: 0,
  warnings: 0,
};

/** The vault process's peak resident memory (VmHWM), in bytes. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!kib) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kib[1]) * 1024;
}

describe('security: hostile clients against a real vault', () => {
  let work: { path: string; cleanup(): Promise<void> };
  let vault: VaultProcess;
  let tenant: TenantSetup;
  let other: TenantSetup;
  let alpha: Machine;
  let gamma: Machine;
  let source: string;
  let alphaPoint: string;
  let http: Awaited<ReturnType<typeof pinnedDispatcherForTests>>;
  const agentToken = async (m: Machine) =>
    (await readFile(join(m.configDir, 'token'), 'utf8')).trim();
  const agentKeys = async (m: Machine): Promise<MasterKeys> =>
    openKeyring(await readFile(join(m.configDir, 'keyring.json'), 'utf8'), m.passphrase);
  const packPath = (keyringId: string, name: string) =>
    join(vault.dataDir, 'blobs', 'packs', keyringId, name.slice(0, 2), name);

  beforeAll(async () => {
    work = await tempDir('coffer-security-');
    vault = new VaultProcess(join(work.path, 'vault'));
    await vault.start();
    tenant = await setupTenant(vault, 'sec-a');
    other = await setupTenant(vault, 'sec-b');
    alpha = await registerMachine(vault, tenant, work.path, 'alpha');
    gamma = await registerMachine(vault, other, work.path, 'gamma');
    source = join(work.path, 'src');
    await mkdir(source);
    await writeFile(join(source, 'report.txt'), 'quarterly numbers\n');
    await writeFile(join(source, 'photo.raw'), randomBytes(256 * 1024));
    const backup = await alpha.run(['backup', source, '--json']);
    expect(backup.code, backup.stderr).toBe(0);
    alphaPoint = json<{ point: { id: string } }>(backup).point.id;
    http = await pinnedDispatcherForTests(vault);
  });

  /** Writes credentials for a tenant's vault and reads them back. */
  async function credentials(
    t: TenantSetup,
    name: string,
    extra: string[] = [],
    token = t.ownerToken,
  ): Promise<{ file: string; value: VaultCredentials }> {
    const file = join(work.path, `${name}.credentials`);
    const made = await runCoffer(
      ['vault', 'credentials', t.vaultId, '--out', file, ...extra],
      vault.env(token),
    );
    expect(made.code, made.stderr).toBe(0);
    return { file, value: JSON.parse(await readFile(file, 'utf8')) as VaultCredentials };
  }

  const keyringIdOf = async (m: Machine): Promise<string> =>
    (JSON.parse(await readFile(join(m.configDir, 'keyring.json'), 'utf8')) as { id: string }).id;

  /** Uploads a finished pack as an agent. */
  const uploadPack = (pack: FinishedPack, token: string) =>
    http.upload(route(ROUTES.packUpload, { pack: pack.name }), token, Buffer.concat(pack.bytes));

  /** An answer with the given ids replaced, to compare answers about different ids. */
  const masked = (answer: unknown, ...ids: string[]): string =>
    ids.reduce((text, id) => text.replaceAll(id, 'ID'), JSON.stringify(answer));

  afterAll(async () => {
    await http?.close();
    await vault?.stop();
    await work?.cleanup();
  });

  it('refuses unauthenticated 100 MB JSON uploads with 401 before reading them, in bounded memory', async () => {
    const size = 100 * MiB;
    const path = route(ROUTES.packUpload, { pack: '0'.repeat(64) });
    const before = await peakRss(vault.pid);
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        sendLargeBody(vault, {
          method: 'PUT',
          path,
          headers: { 'content-type': 'application/json' },
          size,
        }),
      ),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      // The answer came while the body was still being sent: the vault did not read it.
      expect(answer.sentBeforeAnswer).toBeLessThan(size);
    }
    // Six buffered 100 MB bodies would add 600 MB; the vault's peak may grow only a little.
    expect((await peakRss(vault.pid)) - before).toBeLessThan(64 * MiB);
  });

  it('answers 415 to an authenticated JSON body on the pack route, and to a pack on a JSON route', async () => {
    const token = await agentToken(alpha);
    const pack = await sendLargeBody(vault, {
      method: 'PUT',
      path: route(ROUTES.packUpload, { pack: '0'.repeat(64) }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      size: 10 * MiB,
    });
    expect(pack.status).toBe(415);
    expect(pack.sentBeforeAnswer).toBeLessThan(10 * MiB);
    const exists = await sendLargeBody(vault, {
      method: 'POST',
      path: ROUTES.blobsExist,
      headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}` },
      size: 1024,
    });
    expect(exists.status).toBe(415);
  });

  it('limits each JSON route to its own body size', async () => {
    const token = await agentToken(alpha);
    const ids = Array.from({ length: 10_000 }, (_, i) => i.toString(16).padStart(64, '0'));
    // A full batch of ids fits; a body of more than that is refused with 413.
    expect(await http.status('POST', ROUTES.blobsExist, token, { ids })).toBe(200);
    const tooBig = await sendLargeBody(vault, {
      method: 'POST',
      path: ROUTES.blobsExist,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      size: 2 * MiB,
      holdBody: true,
    });
    expect(tooBig.status).toBe(413);
    const vaultBody = await sendLargeBody(vault, {
      method: 'POST',
      path: ROUTES.vaults,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.ownerToken}` },
      size: 256 * 1024,
      holdBody: true,
    });
    expect(vaultBody.status).toBe(413);
  });

  it('refuses a pack whose footer says tree for a data blob, also past the first 64 MiB, and stores nothing', async () => {
    const keys = await agentKeys(alpha);
    const token = await agentToken(alpha);
    const plain = Buffer.from('a data chunk');
    const id = blobId(keys.idKey, plain);
    for (const padding of [0, 65 * MiB]) {
      const writer = new PackWriter({ targetSize: Number.MAX_SAFE_INTEGER });
      writer.add(id, BlobType.tree, sealBlob(keys, BlobType.data, id, plain));
      if (padding > 0) {
        // A large honest blob after the lying one: its header streams past before the footer.
        const big = randomBytes(padding);
        big[0] = 1;
        big[1] = BlobType.data;
        writer.add(randomBytes(32), BlobType.data, big);
      }
      const pack = writer.finish();
      const answer = await uploadPack(pack, token);
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(JSON.stringify(answer.body)).toMatch(/header says type 1, the footer 2/);
      await expect(access(packPath(keys.keyringId, pack.name))).rejects.toThrow(/ENOENT/);
    }
    expect(
      await http.json('POST', ROUTES.blobsExist, token, { ids: [id.toString('hex')] }),
    ).toEqual({ missing: [id.toString('hex')] });
  });

  it("refuses a registration that only copied a keyring's JSON, and answers as for an unknown or another tenant's keyring", async () => {
    const { secret: reader } = json<{ secret: string }>(
      await runCoffer(
        ['token', 'create', 'auditor', '--role', 'reader', '--json'],
        vault.env(tenant.ownerToken),
      ),
    );
    // A reader may read alpha's wrapped keyring (restore to another machine needs it) …
    const copied = (await http.json(
      'GET',
      route(ROUTES.agentKeyring, { agent: alpha.agentId }),
      reader,
    )) as { keyringId: string; keyring: string };
    const { value: creds } = await credentials(tenant, 'copied');
    const unknown = await createKeyring('an unknown keyring passphrase', {
      kdf: { N: 1024, r: 8, p: 1 },
    });
    const foreignId = await keyringIdOf(gamma);
    const foreign = await http.json(
      'GET',
      route(ROUTES.agentKeyring, { agent: gamma.agentId }),
      await agentToken(gamma),
    );
    const forged = { joinProof: randomBytes(64).toString('base64') };
    const attempt = (keyring: string, extra: object = {}) =>
      http.call('POST', ROUTES.register, '', {
        secret: creds.secret,
        name: 'intruder',
        hostname: 'intruder',
        keyring,
        ...extra,
      });
    // … but registering with it, without or with a made-up proof, is refused …
    const plain = await attempt(copied.keyring);
    const made = await attempt(copied.keyring, forged);
    // … exactly as for a keyring nobody has and for another tenant's keyring.
    const nobody = await attempt(JSON.stringify(unknown.json), forged);
    const theirs = await attempt((foreign as { keyring: string }).keyring, forged);
    const theirsPlain = await attempt((foreign as { keyring: string }).keyring);
    expect(plain.status).toBe(404);
    const expected = masked(plain, copied.keyringId);
    expect(masked(made, copied.keyringId)).toBe(expected);
    expect(masked(nobody, unknown.json.id)).toBe(expected);
    expect(masked(theirs, foreignId)).toBe(expected);
    expect(masked(theirsPlain, foreignId)).toBe(expected);
    // Nothing was consumed: the same credentials still register a machine of its own.
    const own = new Machine(join(work.path, 'own-config'));
    const registered = await own.run([
      'register',
      '--credentials',
      join(work.path, 'copied.credentials'),
    ]);
    expect(registered.code, registered.stderr).toBe(0);
    expect(await keyringIdOf(own)).not.toBe(copied.keyringId);
  });

  it('lets a machine join a keyring with `register --keyring` and its passphrase', async () => {
    const keyringFile = join(work.path, 'alpha.keyring.json');
    const exported = await runCoffer(
      ['agent', 'keyring', alpha.agentId, '--out', keyringFile],
      vault.env(tenant.ownerToken),
    );
    expect(exported.code, exported.stderr).toBe(0);
    const wrong = new Machine(join(work.path, 'wrong-config'), 'not the passphrase of alpha');
    const refused = await wrong.run([
      'register',
      '--credentials',
      (await credentials(tenant, 'wrong')).file,
      '--keyring',
      keyringFile,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/wrong passphrase/);
    await expect(access(join(wrong.configDir, 'agent.json'))).rejects.toThrow(/ENOENT/);

    const delta = new Machine(join(work.path, 'delta-config'));
    const joined = json<{ agent: { id: string; keyringId: string } }>(
      await delta.run([
        'register',
        '--credentials',
        (await credentials(tenant, 'delta')).file,
        '--keyring',
        keyringFile,
        '--json',
      ]),
    );
    expect(joined.agent.keyringId).toBe(await keyringIdOf(alpha));
    // It is in alpha's keyring: alpha's blobs are its blobs, and it backs up into them.
    expect(
      await http.json('POST', ROUTES.blobsExist, await agentToken(delta), { ids: [alphaPoint] }),
    ).toEqual({ missing: [] });
    const backup = await delta.run(['backup', source]);
    expect(backup.code, backup.stderr).toBe(0);
  });

  it('joins a keyring made before join keys by an explicit grant, until its agent teaches the vault the key', async () => {
    // A registration as an older agent made it: no join key.
    const legacyKeyring = await createKeyring(PASSPHRASE, { kdf: { N: 1024, r: 8, p: 1 } });
    const legacyText = JSON.stringify(legacyKeyring.json);
    const { value: creds } = await credentials(tenant, 'legacy');
    const created = await http.call('POST', ROUTES.register, '', {
      secret: creds.secret,
      name: 'legacy',
      hostname: 'legacy',
      keyring: legacyText,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const registration = created.body as {
      token: string;
      agent: { id: string };
      vault: { id: string; name: string };
    };
    const legacy = new Machine(join(work.path, 'legacy-config'));
    await saveAgent(
      legacy.configDir,
      {
        format: 'coffer-agent',
        version: 1,
        url: creds.url,
        fingerprint: creds.fingerprint,
        tenantId: creds.tenantId,
        vaultId: registration.vault.id,
        vaultName: registration.vault.name,
        agentId: registration.agent.id,
        name: 'legacy',
        keyringId: legacyKeyring.json.id,
        registeredAt: new Date().toISOString(),
      },
      registration.token,
      legacyText,
    );
    const keyringFile = join(work.path, 'legacy.keyring.json');
    await writeFile(keyringFile, legacyText);
    const joinWith = (file: string, name: string) =>
      new Machine(join(work.path, `${name}-config`)).run([
        'register',
        '--credentials',
        file,
        '--keyring',
        keyringFile,
        '--name',
        name,
      ]);
    // The vault has no join key for it yet: a proof cannot be checked, so it is refused.
    const unproven = await joinWith((await credentials(tenant, 'unproven')).file, 'unproven');
    expect(unproven.code).toBe(1);
    expect(unproven.stderr).toMatch(/may join/);
    // A grant needs the write role; an operator may make credentials but not grant a keyring.
    const { secret: operator } = json<{ secret: string }>(
      await runCoffer(
        ['token', 'create', 'ops', '--role', 'operator', '--json'],
        vault.env(tenant.ownerToken),
      ),
    );
    const denied = await runCoffer(
      [
        'vault',
        'credentials',
        tenant.vaultId,
        '--out',
        join(work.path, 'denied.credentials'),
        '--join-keyring',
        legacyKeyring.json.id,
      ],
      vault.env(operator),
    );
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/may not write/);
    const granted = await credentials(tenant, 'granted', ['--join-keyring', legacyKeyring.json.id]);
    expect(granted.value.joinKeyringId).toBe(legacyKeyring.json.id);
    const withoutKeyring = await new Machine(join(work.path, 'nokeyring-config')).run([
      'register',
      '--credentials',
      granted.file,
    ]);
    expect(withoutKeyring.code).toBe(2);
    expect(withoutKeyring.stderr).toMatch(/pass --keyring FILE/);
    expect((await joinWith(granted.file, 'granted')).code).toBe(0);
    // The old agent's next backup gives the vault the join key; then the proof is enough.
    const backup = await legacy.run(['backup', source]);
    expect(backup.code, backup.stderr).toBe(0);
    const proven = await joinWith((await credentials(tenant, 'proven')).file, 'proven');
    expect(proven.code, proven.stderr).toBe(0);
  });

  it("answers a commit of another tenant's point id exactly like a random id, and keeps points apart per keyring", async () => {
    const token = await agentToken(gamma);
    const commit = (manifest: string) =>
      http.call('POST', ROUTES.points, token, {
        item: 'default',
        manifest,
        hostname: 'gamma',
        startTime: new Date().toISOString(),
        endTime: new Date().toISOString(),
        stats: NO_STATS,
      });
    const random = randomBytes(32).toString('hex');
    const foreign = await commit(alphaPoint);
    const unknown = await commit(random);
    expect(foreign.status).toBe(409);
    expect(masked(foreign, alphaPoint)).toBe(masked(unknown, random));
    // Gamma's keyring may hold a manifest of the same id: it is gamma's own point, and alpha's
    // point stays alpha's.
    const writer = new PackWriter();
    const manifest = randomBytes(64);
    manifest[0] = 1;
    manifest[1] = BlobType.manifest;
    writer.add(Buffer.from(alphaPoint, 'hex'), BlobType.manifest, manifest);
    const pack = writer.finish();
    const uploaded = await uploadPack(pack, token);
    expect(uploaded.status).toBe(200);
    const own = await commit(alphaPoint);
    expect(own.status, JSON.stringify(own.body)).toBe(201);
    const listed = (await http.json(
      'GET',
      route(ROUTES.agentPoints, { agent: alpha.agentId }),
      await agentToken(alpha),
    )) as { points: { id: string; agentId: string }[] };
    expect(listed.points.find((p) => p.id === alphaPoint)?.agentId).toBe(alpha.agentId);
  });

  it('restores and verifies a point whose tree omits a footer ref, naming the file whose blob is missing', async () => {
    // A co-agent holds the keys: it can seal a tree whose footer entry leaves out a content id
    // that was never uploaded. The vault cannot see into the tree, so it accepts the commit.
    const keys = await agentKeys(alpha);
    const token = await agentToken(alpha);
    const good = Buffer.from('this file was uploaded\n');
    const goodId = blobId(keys.idKey, good);
    const lost = Buffer.from('this content never reached the vault\n');
    const lostId = blobId(keys.idKey, lost);
    const file = (name: string, content: Buffer, id: Buffer): TreeEntry => ({
      name: Buffer.from(name),
      type: EntryType.file,
      mode: 0o644,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      mtimeNs: 1_700_000_000_000_000_000n,
      ctimeNs: 1_700_000_000_000_000_000n,
      size: content.length,
      device: 0,
      inode: 0,
      links: 1,
      rdev: 0,
      content: [{ id, length: content.length }],
    });
    const dirEntry = (name: string, subtree: Buffer): TreeEntry => ({
      ...file(name, Buffer.alloc(0), Buffer.alloc(32)),
      type: EntryType.directory,
      mode: 0o755,
      size: 0,
      content: undefined,
      subtree,
    });
    const inner = encodeTree([file('good.txt', good, goodId), file('lost.txt', lost, lostId)]);
    const innerId = blobId(keys.idKey, inner);
    const root = encodeTree([dirEntry('crafted', innerId)]);
    const rootId = blobId(keys.idKey, root);
    const manifest = encodeManifest({
      tree: rootId,
      paths: [Buffer.from('/crafted')],
      hostname: 'alpha',
      username: 'mallory',
      startTimeNs: 1n,
      endTimeNs: 2n,
      item: 'crafted',
      tags: [],
      excludes: [],
      stats: { ...NO_STATS, files: 2, directories: 1 },
      program: 'crafted by a co-agent',
    });
    const manifestId = blobId(keys.idKey, manifest);
    const writer = new PackWriter();
    writer.add(goodId, BlobType.data, sealBlob(keys, BlobType.data, goodId, good));
    // The lying ref list: lost.txt's content id is left out.
    writer.add(innerId, BlobType.tree, sealBlob(keys, BlobType.tree, innerId, inner), [goodId]);
    writer.add(rootId, BlobType.tree, sealBlob(keys, BlobType.tree, rootId, root), [innerId]);
    writer.add(
      manifestId,
      BlobType.manifest,
      sealBlob(keys, BlobType.manifest, manifestId, manifest),
      [rootId],
    );
    const pack = writer.finish();
    const uploaded = await uploadPack(pack, token);
    expect(uploaded.status).toBe(200);
    const committed = await http.call('POST', ROUTES.points, token, {
      item: 'crafted',
      manifest: manifestId.toString('hex'),
      hostname: 'alpha',
      startTime: new Date().toISOString(),
      endTime: new Date().toISOString(),
      stats: { ...NO_STATS, files: 2, directories: 1 },
    });
    expect(committed.status, JSON.stringify(committed.body)).toBe(201);
    const point = manifestId.toString('hex');

    const target = join(work.path, 'crafted-restore');
    const restored = await alpha.run(['restore', point, '--target', target]);
    const restoreOutput = restored.stdout + restored.stderr;
    expect(restored.code, restoreOutput).toBe(3);
    expect(restoreOutput).not.toMatch(/unexpected error/);
    expect(restoreOutput).toMatch(/crafted\/lost\.txt: .*missing/);
    expect(await readFile(join(target, 'crafted', 'good.txt'))).toEqual(good);
    expect(await readdir(join(target, 'crafted'))).toEqual(['good.txt']);
    for (const args of [
      ['verify', point],
      ['verify', point, '--read-data'],
    ]) {
      const verified = await alpha.run(args);
      const output = verified.stdout + verified.stderr;
      expect(verified.code, output).not.toBe(0);
      expect(output).not.toMatch(/unexpected error/);
      expect(output).toMatch(/crafted\/lost\.txt: .*missing/);
    }
  });
});

describe('security: the data directory and its metadata database', () => {
  let work: { path: string; cleanup(): Promise<void> };
  const databases: TestDb[] = [];

  beforeAll(async () => {
    work = await tempDir('coffer-datadir-');
  });

  afterAll(async () => {
    for (const db of databases) await db.drop();
    await work?.cleanup();
  });

  const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;
  const sqliteFiles = (dir: string) =>
    ['metadata.sqlite', 'metadata.sqlite-wal', 'metadata.sqlite-shm'].map((f) => join(dir, f));
  const serve = (dataDir: string, db?: string) =>
    runCoffer([
      'vault',
      'serve',
      '--data',
      dataDir,
      '--listen',
      '127.0.0.1:0',
      ...(db ? ['--db', db] : []),
    ]);
  const startStop = async (dataDir: string, db?: string): Promise<VaultProcess> => {
    const vault = new VaultProcess(dataDir, db);
    await vault.start();
    await vault.stop();
    return vault;
  };
  const pgDatabase = async (): Promise<string> => {
    const db = await createPgDatabase();
    databases.push(db);
    return db.url!;
  };

  it('creates metadata.sqlite and its WAL files 0600 in a 0755 directory, narrows older 0644 files, and warns', async () => {
    const dir = join(work.path, 'open');
    await mkdir(dir);
    await chmod(dir, 0o755);
    // Checked while the vault runs: SQLite may remove its WAL files when it closes.
    const running = async (check: (vault: VaultProcess) => Promise<void>) => {
      const vault = new VaultProcess(dir);
      await vault.start();
      try {
        await check(vault);
      } finally {
        await vault.stop();
      }
    };
    await running(async (vault) => {
      for (const file of sqliteFiles(dir)) expect(await mode(file), file).toBe(0o600);
      const warnings = vault.output.split('\n').filter((l) => l.startsWith('warning:'));
      expect(warnings).toEqual([
        `warning: data directory ${dir} is open to other users (mode 755); it holds the vault's key, tokens and metadata: chmod 700 ${dir}`,
      ]);
    });
    // Files an older version left readable are narrowed at the next start; a closed data
    // directory gets no warning.
    for (const file of sqliteFiles(dir)) await chmod(file, 0o644).catch(() => undefined);
    await chmod(join(dir, 'metadata.sqlite'), 0o644);
    await chmod(dir, 0o700);
    await running(async (vault) => {
      for (const file of sqliteFiles(dir)) expect(await mode(file), file).toBe(0o600);
      expect(vault.output).not.toMatch(/warning:/);
    });
  });

  it('refuses a data directory with another database, both ways round, and creates or overwrites nothing', async () => {
    const firstPg = await pgDatabase();
    const onPg = join(work.path, 'on-pg');
    await startStop(onPg, firstPg);
    const token = await readFile(join(onPg, 'admin.token'), 'utf8');
    // The newcomer trap: the right --data, the --db forgotten.
    const forgotten = await serve(onPg);
    expect(forgotten.code).toBe(2);
    expect(forgotten.stderr.trim().split('\n')).toHaveLength(1);
    expect(forgotten.stderr).toMatch(/belongs to the metadata database of instance [0-9a-f]{32}/);
    await expect(access(join(onPg, 'metadata.sqlite'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(onPg, 'admin.token'), 'utf8')).toBe(token);
    // The reverse: the right --db, a new --data.
    const fresh = join(work.path, 'fresh');
    const wrongData = await serve(fresh, firstPg);
    expect(wrongData.code).toBe(2);
    expect(wrongData.stderr).toContain(`belongs to data directory ${onPg}`);
    await expect(access(fresh)).rejects.toThrow(/ENOENT/);
    // A data directory of one database started with another, used or new.
    const onSqlite = join(work.path, 'on-sqlite');
    await startStop(onSqlite);
    const otherPg = await pgDatabase();
    const swapped = await serve(onSqlite, otherPg);
    expect(swapped.code).toBe(2);
    expect(swapped.stderr).toMatch(/does not exist yet/);
    const swappedBack = await serve(onSqlite, firstPg);
    expect(swappedBack.code).toBe(2);
    expect(swappedBack.stderr).toMatch(/belongs to instance/);
    // Nothing was created in the unused database.
    const client = new pg.Client({ connectionString: otherPg });
    await client.connect();
    const tables = await client.query(
      "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public'",
    );
    await client.end();
    expect(tables.rowCount).toBe(0);
  });

  it('binds an older vault on its first start after the upgrade, but refuses an older data directory whose database is missing', async () => {
    const dir = join(work.path, 'older');
    await startStop(dir);
    // As an older version left it: no vault.json, no instance id in the database.
    const meta = await openMetadataDb(`sqlite:${join(dir, 'metadata.sqlite')}`);
    await meta.db.deleteFrom('settings').execute();
    await meta.close();
    await rm(join(dir, 'vault.json'));
    const token = await readFile(join(dir, 'admin.token'), 'utf8');
    const upgraded = await startStop(dir);
    expect(upgraded.adminToken).toBe(token.trim());
    expect(JSON.parse(await readFile(join(dir, 'vault.json'), 'utf8'))).toMatchObject({
      instanceId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    // An older data directory whose database is elsewhere: refused, no new database made.
    await rm(join(dir, 'vault.json'));
    for (const file of sqliteFiles(dir)) await rm(file, { force: true });
    const refused = await serve(dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/was used with another metadata database/);
    await expect(access(join(dir, 'metadata.sqlite'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(dir, 'admin.token'), 'utf8')).toBe(token);
  });
});
