import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Real brokers, Flink and a browser: run files one at a time on 2 cores.
    fileParallelism: false,
    reporters: ['default'],
  },
});
