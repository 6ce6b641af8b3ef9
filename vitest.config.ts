import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Suites share one Redis (isolated by key prefix) and bind loopback ports; files run in parallel, tests within a file in order.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // Issues the test CA for the Teams identity fakes; workers trust it through NODE_EXTRA_CA_CERTS set here.
    globalSetup: ['test/support/teams/tls-setup.ts'],
  },
});
