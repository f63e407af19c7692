import type { TracingSettings } from '../../config/index.js';

export {
  annotateSpan,
  currentTraceCarrier,
  currentTraceIds,
  nameRequestSpan,
  queueTelemetry,
  shutdownTracing,
  tracingEnabled,
  withSpan,
  withoutSpans,
  type SpanAttributes,
  type SpanSettings,
  type TraceCarrier,
} from './trace-context.js';
export { installRequestTracing } from './request-tracing.js';

/**
 * Starts OpenTelemetry when `settings.enabled` (an OTLP endpoint is set); otherwise does nothing
 * and loads nothing. The SDK is imported here, lazily, so that a service with tracing off never
 * loads an `@opentelemetry/*` module. `shutdownTracing` ends it.
 */
export async function startTracing(settings: TracingSettings): Promise<void> {
  if (!settings.enabled) return;
  const { startTracingSdk } = await import('./sdk.js');
  startTracingSdk(settings);
}
