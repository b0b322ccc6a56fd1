import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { policySpec } from '../src/commands/policy-spec.js';
import { parseSince } from '../src/commands/job-list.js';
import { buildProgram } from '../src/main.js';

const NAMES = [
  'policy',
  'policy create',
  'policy set',
  'policy list',
  'policy show',
  'policy delete',
  'protect',
  'items',
  'item',
  'item set',
  'backup-now',
  'restore-request',
  'jobs',
  'job',
  'job show',
  'job cancel',
  'agent run',
  'agent install-service',
  'agent unlock',
  'agent lock',
];

function find(program: Command, path: string): Command {
  let command = program;
  for (const name of path.split(' ')) {
    const next = command.commands.find((c) => c.name() === name);
    if (!next) throw new Error(`no command ${path}`);
    command = next;
  }
  return command;
}

describe('protection commands', () => {
  it.each(NAMES)('coffer %s has an example in its help', (path) => {
    let help = '';
    const command = find(
      buildProgram(() => undefined),
      path,
    );
    command.configureOutput({ writeOut: (text) => (help += text) });
    command.outputHelp();
    expect(help).toMatch(/\nExample:\n {2}(sudo )?coffer /);
  });

  it('builds a policy from flags, keeps what `policy set` does not name, and removes a rule with 0', () => {
    const created = policySpec({
      times: '14:00,2:00',
      days: 'mon-fri',
      tz: 'europe/paris',
      daily: '30',
      weekly: '8',
    });
    expect(created).toEqual({
      schedule: {
        times: ['02:00', '14:00'],
        days: ['mon', 'tue', 'wed', 'thu', 'fri'],
        timeZone: 'Europe/Paris',
      },
      retention: { daily: { days: 30 }, weekly: { weeks: 8, weekday: 'sun' } },
    });
    const changed = policySpec(
      { weekly: '0', monthly: '12', day: 'last', weekday: 'fri' },
      created,
    );
    expect(changed.schedule).toEqual(created.schedule);
    expect(changed.retention).toEqual({
      daily: { days: 30 },
      monthly: { months: 12, on: { day: 'last' } },
    });
    expect(() => policySpec({ times: '02:00' })).toThrow(/say how long points are kept/);
    expect(() => policySpec({ daily: '7', days: 'someday' })).toThrow(
      /--days: "someday" is not a weekday/,
    );
    expect(() => policySpec({ daily: '7' }, changed).retention).not.toThrow();
  });

  it('reads --since as a date or an age', () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    expect(parseSince('12h', now)).toBe('2026-03-10T00:00:00.000Z');
    expect(parseSince('7d', now)).toBe('2026-03-03T12:00:00.000Z');
    expect(parseSince('2026-03-01', now)).toBe('2026-03-01T00:00:00.000Z');
    expect(() => parseSince('yesterday', now)).toThrow(/--since yesterday/);
  });
});
