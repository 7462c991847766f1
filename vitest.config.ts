import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['opencae-source'] },
  ssr: { resolve: { conditions: ['opencae-source'] } },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'bench/**/*.test.ts',
      'test/**/*.test.ts',
      'examples/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
