import { readFileSync } from 'node:fs';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC compiles the decorators and their metadata (esbuild emits none) with the same settings as
// `npm run build` (.swcrc), so the tests run what production runs.
const decorators = swc.vite(JSON.parse(readFileSync(new URL('./.swcrc', import.meta.url), 'utf8')));

export default defineConfig({
  plugins: [decorators],
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
    projects: [
      {
        plugins: [decorators],
        test: { name: 'unit', include: ['src/**/*.spec.ts'] },
      },
      {
        plugins: [decorators],
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e-spec.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        plugins: [decorators],
        test: {
          // Fault injection on the built service (dist/): each file starts its own servers and
          // instances, so the files run one at a time, after the other projects (docs/faults.md).
          name: 'faults',
          include: ['test/faults/**/*.fault-spec.ts'],
          testTimeout: 240_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
