import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COFFER_BIN,
  PASSPHRASE,
  PG_ADMIN_URL,
  registerMachine,
  runCoffer,
  setupTenant,
  tempDir,
  VaultProcess,
  type Machine,
} from './harness.js';

const ESC = String.fromCharCode(27);

/** Runs `coffer ARGS` on a pseudo-terminal (util-linux `script`); `screen` is all it drew. */
function onTerminal(args: string[], env: Record<string, string>) {
  const command = [process.execPath, COFFER_BIN, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { ...process.env, COFFER_PASSPHRASE: undefined, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const session = {
    screen: '',
    type: (text: string) => child.stdin.write(text),
    /** Resolves once the screen matches `pattern`. */
    waitFor: (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(session.screen)) {
            child.stdout.off('data', check);
            resolve();
          }
        };
        child.stdout.on('data', check);
        child.once('exit', () => reject(new Error(`exited before ${pattern}: ${session.screen}`)));
        check();
      }),
    exit: new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1))),
  };
  child.stdout.on('data', (d: Buffer) => (session.screen += d.toString()));
  return session;
}

describe('first-run mistakes: one line, the right exit status, nothing half-created', () => {
  let work: { path: string; cleanup(): Promise<void> };

  beforeAll(async () => {
    work = await tempDir('coffer-first-run-');
  });

  afterAll(async () => {
    await work?.cleanup();
  });

  const serve = (data: string, ...args: string[]) =>
    runCoffer(['vault', 'serve', '--data', data, ...args]);

  const expectOneLine = (stderr: string, pattern: RegExp): void => {
    expect(stderr).toMatch(pattern);
    expect(stderr.trim().split('\n'), stderr).toHaveLength(1);
    expect(stderr).not.toMatch(/unexpected error|\n\s+at /);
  };

  it('refuses a busy port before it creates the data directory', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const result = await serve(join(work.path, 'busy'), '--listen', `127.0.0.1:${port}`);
      expect(result.code).toBe(1);
      expectOneLine(result.stderr, new RegExp(`127\\.0\\.0\\.1:${port} is in use.*--listen`));
      expect(await readdir(work.path)).not.toContain('busy');
    } finally {
      blocker.close();
    }
  });

  it('names a PostgreSQL database that does not exist, and leaves no data directory', async () => {
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/coffer_missing_${process.pid}`;
    const result = await serve(
      join(work.path, 'no-db'),
      '--listen',
      '127.0.0.1:0',
      '--db',
      `${url}`,
    );
    expect(result.code).toBe(1);
    expectOneLine(result.stderr, /database "coffer_missing_\d+" does not exist.*createdb/);
    expect(await readdir(work.path)).not.toContain('no-db');
  });

  it('answers an unsupported --db scheme, a bad --url and a bad --listen with exit 2', async () => {
    const data = join(work.path, 'mysql');
    const scheme = await serve(data, '--db', 'mysql://h/db');
    expect(scheme.code).toBe(2);
    expectOneLine(scheme.stderr, /expected sqlite:PATH or postgres:/);
    expect(await readdir(work.path)).not.toContain('mysql');

    const url = await runCoffer([
      'vault',
      'list',
      '--url',
      'vault:8443',
      '--token',
      'x'.repeat(20),
    ]);
    expect(url.code).toBe(2);
    expectOneLine(url.stderr, /--url vault:8443: not a URL/);
    const env = await runCoffer(['vault', 'list', '--token', 'x'.repeat(20)], {
      COFFER_URL: 'http://127.0.0.1:8443',
    });
    expect(env.code).toBe(2);
    expectOneLine(env.stderr, /COFFER_URL .*HTTPS only/);

    const listen = await serve(data, '--listen', '8443');
    expect(listen.code).toBe(2);
    expectOneLine(listen.stderr, /expected HOST:PORT/);
  });

  it('exits 2 on usage errors of the real program', async () => {
    for (const args of [
      ['backup', '--no-such-option', '/tmp'],
      ['restore'],
      ['register'],
      ['token', 'create', 'ci'],
    ]) {
      const result = await runCoffer(args);
      expect(result.code, args.join(' ')).toBe(2);
    }
  });
});

describe('the passphrase prompt on a terminal', () => {
  let work: { path: string; cleanup(): Promise<void> };
  let vault: VaultProcess;
  let machine: Machine;
  let source: string;

  beforeAll(async () => {
    work = await tempDir('coffer-prompt-');
    vault = new VaultProcess(join(work.path, 'vault'));
    await vault.start();
    machine = await registerMachine(vault, await setupTenant(vault, 'acme'), work.path, 'alpha');
    source = join(work.path, 'src');
    await mkdir(source);
    await writeFile(join(source, 'a.txt'), 'a\n');
  });

  afterAll(async () => {
    await vault?.stop();
    await work?.cleanup();
  });

  it('draws no progress while the prompt waits, then backs up', async () => {
    const session = onTerminal(['backup', source], { COFFER_CONFIG: machine.configDir });
    await session.waitFor(/Passphrase: /);
    // The live progress line is drawn every 250 ms; give it several chances to appear.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Readline may place the cursor after the prompt; nothing may return to the line's start,
    // clear it or write progress over it.
    const waiting = session.screen.slice(session.screen.indexOf('Passphrase: ') + 12);
    for (const drawn of ['\r', '\n', `${ESC}[K`, 'backup', 'files']) {
      expect(waiting, JSON.stringify(waiting)).not.toContain(drawn);
    }
    session.type(`${PASSPHRASE}\n`);
    expect(await session.exit, session.screen).toBe(0);
    // The prompt's line ends with the answer (a cursor placement at most before it).
    expect(session.screen).toMatch(/Passphrase: \S*\r?\n/);
    expect(session.screen).toMatch(/Recovery point [0-9a-f]{64}/);
  });
});
