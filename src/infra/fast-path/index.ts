// The public surface of infra/fast-path for the composition root: import from here, not from its files.
export { FastPathModule } from './fast-path.module.js';
