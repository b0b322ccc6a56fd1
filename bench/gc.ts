/**
 * GC at scale (issue 13): a vault with 10,000 points and 1,000,000 blobs in 10,000 small packs,
 * the oldest 30% of its points purged, collected by a real `coffer vault serve` process with no
 * agent and no key. Reports each GC run's time and the vault process's peak RSS.
 *
 * The data is synthetic: blobs are 48 bytes with a valid header (the vault cannot open blobs,
 * and GC never needs to), ids are random, each point has a manifest, a root tree and 98 new data
 * blobs, and its tree refers to its own and the previous point's data (so points share data as
 * incremental backups do). Packs are stored and indexed with the upload route's own functions
 * and points recorded as a commit records them (in process, before the vault process starts).
 *
 * Run: `npm run build && node --conditions=@coffer/source --import tsx bench/gc.ts`
 * (BENCH_GC_POINTS=1000 for a quick run; not part of npm test).
 */
import { ROUTES, route } from '@coffer/api';
import { BlobType, PackWriter, createKeyring } from '@coffer/core';
import { FsBlobStore } from '@coffer/storage';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openMetadataDb } from '../packages/vault/src/db/connect.js';
import { insertPack } from '../packages/vault/src/blob-index/index.js';
import { LifecycleRunner } from '../packages/vault/src/lifecycle/runner.js';
import { packKey } from '../packages/vault/src/pack-keys.js';
import { buildServer } from '../packages/vault/src/server.js';
import { STATS } from '../packages/vault/test/point-fixtures.js';

const POINTS = Number(process.env.BENCH_GC_POINTS ?? 10_000);
const DATA_PER_POINT = 98;
const PURGED_SHARE = 0.3;
const COFFER = resolve(import.meta.dirname, '../packages/cli/bin/coffer.js');

/** A 48-byte stand-in for a sealed blob: a valid header, random bytes after it. */
function sealed(type: BlobType): Buffer {
  const b = randomBytes(48);
  b[0] = 1;
  b[1] = type;
  b[2] = 0;
  b[3] = 0;
  return b;
}

function run(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [COFFER, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) =>
      code === 0 ? resolvePromise(out) : reject(new Error(`coffer ${args.join(' ')}: ${err}`)),
    );
  });
}

/** Starts `coffer vault serve`; resolves once it listens. */
async function serve(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [COFFER, 'vault', 'serve', '--data', dataDir, '--listen', '127.0.0.1:0', '--gc-grace', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const url = await new Promise<string>((resolvePromise, reject) => {
    let output = '';
    const onData = (d: Buffer): void => {
      output += d.toString();
      const match = /listening on (https:\/\/[^\s]+)/.exec(output);
      if (match) resolvePromise(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`vault exited with ${code}: ${output}`)));
  });
  return { child, url };
}

async function stop(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolvePromise) => {
    child.once('exit', () => resolvePromise());
    child.kill('SIGTERM');
  });
}

async function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]);
}

const dir = await mkdtemp(join(tmpdir(), 'coffer-gc-bench-'));
const dataDir = join(dir, 'vault');
try {
  // First start: the data directory, its certificate and the admin token.
  const first = await serve(dataDir);
  await stop(first.child);
  const adminToken = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();

  // Synthesis, in process on the same database and blob store, through the vault's routes.
  const started = Date.now();
  const meta = await openMetadataDb(`sqlite:${join(dataDir, 'metadata.sqlite')}`);
  // Synthesis only: no sync per transaction (the vault process that collects syncs as usual).
  await sql`PRAGMA synchronous = OFF`.execute(meta.db);
  const app = await buildServer({
    context: {
      db: meta.db,
      dialect: meta.dialect,
      store: new FsBlobStore(join(dataDir, 'blobs')),
      publicUrl: 'https://127.0.0.1:1',
      fingerprint: 'ab'.repeat(32),
      now: () => Date.now(),
      lifecycle: new LifecycleRunner({ error: () => undefined }),
    },
  });
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const call = async <T>(method: 'POST' | 'PUT', url: string, token: string, payload?: unknown) => {
    const res = await app.inject({
      method,
      url,
      headers: {
        ...auth(token),
        ...(Buffer.isBuffer(payload) ? { 'content-type': 'application/octet-stream' } : {}),
      },
      ...(payload === undefined ? {} : { payload: payload as string }),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json<T>();
  };
  const owner = (await call<{ token: string }>('POST', ROUTES.tenants, adminToken, { name: 'gc' }))
    .token;
  const vault = await call<{ id: string; name: string }>('POST', ROUTES.vaults, owner, {
    name: 'gc-vault',
  });
  const credentials = await call<{ secret: string }>(
    'POST',
    route(ROUTES.vaultCredentials, { vault: vault.id }),
    owner,
  );
  const keyring = await createKeyring('a long enough passphrase', { kdf: { N: 1024, r: 8, p: 1 } });
  const registered = await app.inject({
    method: 'POST',
    url: ROUTES.register,
    payload: {
      secret: credentials.secret,
      name: 'bench',
      hostname: 'bench',
      keyring: JSON.stringify(keyring.json),
    },
  });
  const agent = registered.json<{ agent: { id: string } }>().agent;
  const store = new FsBlobStore(join(dataDir, 'blobs'));
  let previous: Buffer[] = [];
  const manifests: string[] = [];
  for (let p = 0; p < POINTS; p++) {
    const writer = new PackWriter();
    const own = Array.from({ length: DATA_PER_POINT }, () => randomBytes(32));
    for (const id of own) writer.add(id, BlobType.data, sealed(BlobType.data));
    const treeId = randomBytes(32);
    writer.add(treeId, BlobType.tree, sealed(BlobType.tree), [...previous, ...own]);
    const manifestId = randomBytes(32);
    writer.add(manifestId, BlobType.manifest, sealed(BlobType.manifest), [treeId]);
    const pack = writer.finish();
    // What the upload route does once a pack is verified: store it, then index its footer.
    await store.put(packKey(keyring.json.id, pack.name), Buffer.concat(pack.bytes));
    const now = Date.now();
    await insertPack(
      meta.db,
      keyring.json.id,
      { name: pack.name, size: pack.size },
      pack.entries.map((e) => ({
        id: e.id.toString('hex'),
        offset: e.offset,
        length: e.length,
        type: e.type,
      })),
      { now },
    );
    // What a commit records (its closure holds by construction).
    await meta.db
      .insertInto('points')
      .values({
        id: manifestId.toString('hex'),
        vault_id: vault.id,
        agent_id: agent.id,
        keyring_id: keyring.json.id,
        item: 'bench',
        parent: null,
        hostname: 'bench',
        start_time: now,
        end_time: now,
        created_at: now,
        stats: JSON.stringify(STATS),
        item_id: null,
      })
      .execute();
    manifests.push(manifestId.toString('hex'));
    previous = own;
    if ((p + 1) % 1000 === 0) console.log(`synthesised ${p + 1} points`);
  }
  // The oldest points purged, as expiry and the soft-delete period would.
  const purged = manifests.slice(0, Math.floor(POINTS * PURGED_SHARE));
  for (let i = 0; i < purged.length; i += 500) {
    await meta.db
      .deleteFrom('points')
      .where('id', 'in', purged.slice(i, i + 500))
      .execute();
  }
  const blobs = await meta.db
    .selectFrom('blobs')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  console.log(
    `synthesised ${POINTS} points, ${Number(blobs.n)} blobs, ${POINTS} packs in ${((Date.now() - started) / 1000).toFixed(0)} s; purged ${purged.length} points`,
  );
  await app.close();
  await meta.close();

  // GC in a fresh vault process: three runs (condemn; sweep and repack; delete old packs).
  const served = await serve(dataDir);
  const env = { COFFER_URL: served.url, COFFER_TOKEN: owner, COFFER_DATA: dataDir };
  const pid = served.child.pid!;
  const idleKiB = await statusKiB(pid, 'VmRSS');
  for (const phase of ['condemn', 'sweep + repack', 'delete old packs']) {
    const t0 = Date.now();
    const job = JSON.parse(await run(['gc', vault.name, '--wait', '--json'], env)) as {
      state: string;
      startedAt: string;
      endedAt: string;
      result: Record<string, number>;
    };
    const wall = (Date.now() - t0) / 1000;
    const took = (Date.parse(job.endedAt) - Date.parse(job.startedAt)) / 1000;
    const r = job.result;
    console.log(
      `gc (${phase}): ${job.state} in ${took.toFixed(1)} s (${wall.toFixed(1)} s with the CLI); ` +
        `blobs ${r.blobsBefore} -> ${r.blobsAfter} (live ${r.blobsLive}, condemned ${r.blobsCondemned}, swept ${r.blobsSwept}); ` +
        `packs ${r.packsBefore} -> ${r.packsAfter} (repacked ${r.packsRepacked} into ${r.packsWritten}, deleted ${r.packsDeleted}); ` +
        `bytes ${r.bytesBefore} -> ${r.bytesAfter}; mark set ${(r.markSetBytes! / 2 ** 20).toFixed(0)} MiB; ` +
        `vault peak RSS so far ${((await statusKiB(pid, 'VmHWM')) / 1024).toFixed(0)} MiB`,
    );
  }
  console.log(`vault RSS idle after start: ${(idleKiB / 1024).toFixed(0)} MiB`);
  await stop(served.child);
} finally {
  await rm(dir, { recursive: true, force: true });
}
