import type { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildProgram, main } from '../src/main.js';

/** Every command of the program, with the words that name it (the root is []). */
function allCommands(): { words: string[]; command: Command }[] {
  const out: { words: string[]; command: Command }[] = [];
  const walk = (command: Command, words: string[]): void => {
    out.push({ words, command });
    for (const sub of command.commands) walk(sub, [...words, sub.name()]);
  };
  walk(
    buildProgram(() => {
      throw new Error('no command may run in this test');
    }),
    [],
  );
  return out;
}

describe('every command', () => {
  let stdout = '';
  let stderr = '';

  beforeEach(() => {
    stdout = '';
    stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  const run = (...args: string[]) => main(['node', 'coffer', ...args]);
  const commands = allCommands();

  it('includes the lifecycle commands', () => {
    const names = commands.map((c) => c.words.join(' '));
    for (const expected of [
      'token list',
      'token revoke',
      'agent remove',
      'agent revoke-grant',
      'vault delete',
      'tenant list',
      'admin reset-token',
      'find',
    ]) {
      expect(names).toContain(expected);
    }
    expect(commands.length).toBeGreaterThan(25);
  });

  it.each(commands.map((c) => [c.words.join(' ') || '(coffer)', c] as const))(
    '%s: --help shows an example; usage errors exit 2',
    async (_, { words, command }) => {
      expect(await run(...words, '--help')).toBe(0);
      expect(stdout).toMatch(/\nExample:\n {2}\S/);

      const args = command.registeredArguments;
      const values = args.filter((a) => a.required).map(() => 'x');
      const mandatory = command.options.filter((o) => o.mandatory);
      const optionValues = mandatory.flatMap((o) => [o.long!, o.argChoices?.[0] ?? 'x']);
      stderr = '';
      expect(await run(...words, ...values, ...optionValues, '--no-such-option')).toBe(2);
      expect(stderr).toMatch(/unknown option '--no-such-option'/);

      if (args.some((a) => a.required)) {
        stderr = '';
        expect(await run(...words, ...optionValues)).toBe(2);
        expect(stderr).toMatch(/missing required argument/);
      }
      if (mandatory.length > 0) {
        stderr = '';
        expect(await run(...words, ...values)).toBe(2);
        expect(stderr).toMatch(/required option .* not specified/);
      }
    },
  );

  it('reports a usage error as JSON on stderr under --json, with exit 2', async () => {
    expect(await run('points', '--json', '--bogus')).toBe(2);
    expect(stdout).toBe('');
    expect(JSON.parse(stderr)).toEqual({
      error: { code: 'USAGE', message: "unknown option '--bogus'" },
    });
  });

  it('reports an unknown command and a missing subcommand as usage errors', async () => {
    expect(await run('frobnicate')).toBe(2);
    expect(await run('token')).toBe(2);
  });
});
