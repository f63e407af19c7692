import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC compiles the decorators and their metadata (esbuild emits none), as `nest build` does.
const decorators = swc.vite({
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'es6' },
});

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
