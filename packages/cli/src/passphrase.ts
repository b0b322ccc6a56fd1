/**
 * @module passphrase
 * Where the passphrase comes from: COFFER_PASSPHRASE, --passphrase-file, or a prompt on the
 * terminal (without echo). Never from the command line, where other users could read it.
 */
import { CofferError } from '@coffer/core';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { whilePrompting } from './output.js';

/** Asks on the terminal without echo; progress lines wait meanwhile. */
function prompt(question: string): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new CofferError(
      'PASSPHRASE_REQUIRED',
      'a passphrase is needed: set COFFER_PASSPHRASE or pass --passphrase-file FILE',
    );
  }
  return whilePrompting(() => ask(question));
}

async function ask(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!muted) process.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = new Promise<string>((resolve) => rl.question(question, resolve));
    muted = true;
    const value = await answer;
    process.stderr.write('\n');
    return value;
  } finally {
    rl.close();
  }
}

/** Reads the passphrase; `confirm` asks twice (used when a keyring is created). */
export async function readPassphrase(options: {
  file?: string | undefined;
  confirm?: boolean;
  label?: string;
}): Promise<string> {
  if (options.file) {
    const text = await readFile(options.file, 'utf8').catch((error: unknown) => {
      throw new CofferError(
        'PASSPHRASE_FILE',
        `cannot read --passphrase-file ${options.file}: ${(error as Error).message}`,
      );
    });
    return text.replace(/\r?\n$/, '');
  }
  const env = process.env.COFFER_PASSPHRASE;
  if (env !== undefined && env !== '') return env;
  const label = options.label ?? 'Passphrase';
  const first = await prompt(`${label}: `);
  if (options.confirm) {
    const second = await prompt(`${label} again: `);
    if (first !== second)
      throw new CofferError('PASSPHRASE_MISMATCH', 'the two passphrases differ; try again');
  }
  return first;
}
