import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Suites share one Redis (isolated by key prefix) and bind loopback ports; files run in parallel, tests within a file in order.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // Most of a suite's time is spent waiting on Redis, jobs, spawned processes and loopback HTTP, not on the CPU (about
    // 1.3 of two cores busy): six files at a time overlap their waits (vitest's default here would be one, cores - 1).
    maxWorkers: 6,
    // A worker keeps the modules it loaded for the next file instead of loading Bolt, BullMQ and the AWS SDK again:
    // no test may leave state in a module (each builds its own app, on its own Redis prefix).
    isolate: false,
    // Issues the test CA for the Teams identity fakes; workers trust it through NODE_EXTRA_CA_CERTS set here.
    globalSetup: ['test/support/teams/tls-setup.ts'],
  },
});
