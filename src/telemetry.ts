import { register } from 'node:module';
import { InvalidEnvironmentError, tracingSettings } from './config/index.js';
import { startTracing } from './infra/tracing/index.js';

/**
 * The preload of every entry point: `node --import ./dist/telemetry.js dist/main.js` (the start
 * scripts, the image's CMD). With no OTLP endpoint set it does nothing and loads no OpenTelemetry
 * module. With one set, it registers the ESM loader hook (so the instrumentations can patch the
 * modules this native-ESM service imports, not only those loaded with `require`) and starts the
 * SDK, all before the application's first import of pg, a Redis client or undici.
 */
async function preload(): Promise<void> {
  let settings;
  try {
    settings = tracingSettings();
  } catch (error) {
    // The entry point reports every bad variable at once and exits.
    if (error instanceof InvalidEnvironmentError) return;
    throw error;
  }
  if (!settings.enabled) return;
  // Only the modules an instrumentation patches go through the hook (every other import untouched).
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
    data: { include: ['pg', 'pg-pool', 'ioredis', '@redis/client', 'undici', 'http', 'https'] },
  });
  await startTracing(settings);
}

await preload();
