// The public surface of infra/pglite-data-dir: import from here, not from its files. It loads no
// more than node's own modules, so main.ts can start it before the rest of the app.
export { preparePgliteDataDir, type DataDirOrigin } from './pglite-data-dir.js';
