// Preload for a child process (`--import` before the app): on exit, writes to the file named by
// LOADED_MODULES_FILE a JSON object mapping every module file loaded (ESM imports and CommonJS
// requires) to the module that first asked for it.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const requiredBy = new Map();
const loaded = new Set();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    if (!requiredBy.has(result.url)) requiredBy.set(result.url, context.parentURL ?? null);
    return result;
  },
  load(url, context, nextLoad) {
    loaded.add(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => {
  if (!process.env.LOADED_MODULES_FILE) return;
  const modules = Object.fromEntries([...loaded].map((url) => [url, requiredBy.get(url) ?? null]));
  writeFileSync(process.env.LOADED_MODULES_FILE, JSON.stringify(modules));
});
