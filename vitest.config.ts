import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@coffer/source'] },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'bench/**/*.test.ts'],
    // Two files at a time: most of an end-to-end test is spent in the vault and CLI processes it
    // starts, or waiting for a schedule, so a second file keeps a 2-core machine busy.
    maxWorkers: 2,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
