/**
 * The seam between the service and OpenTelemetry. Everything here works, and costs a property
 * read, whether tracing is on or off: with tracing off nothing installs an implementation, and
 * no `@opentelemetry/*` module is ever loaded (sdk.ts, which imports them, is loaded only by
 * `startTracing` when an OTLP endpoint is set). Features and infra use these functions, never
 * `@opentelemetry/api` directly.
 */

/** A W3C trace context as it travels in headers and outbox rows. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

export type SpanAttributes = Record<string, string | number | boolean>;

export interface SpanSettings {
  attributes?: SpanAttributes;
  /** The span's parent; when omitted, the active span (if any). */
  parent?: TraceCarrier;
  /** `client` for a call to another system (SMTP, a webhook receiver); default internal. */
  kind?: 'internal' | 'client' | 'producer' | 'consumer';
}

/** What the SDK side (sdk.ts) provides once started. */
export interface TracingImplementation {
  currentCarrier(): TraceCarrier | undefined;
  currentIds(): { trace_id: string; span_id: string } | undefined;
  withSpan<T>(name: string, settings: SpanSettings, work: () => Promise<T>): Promise<T>;
  annotate(attributes: SpanAttributes): void;
  /** Names the current HTTP server span after its route template (`GET /v1/products/:id`). */
  nameRequest(route: string): void;
  /** Runs `work` with span creation suppressed (no per-command Redis spans on the cached-read fast path). */
  withoutSpans<T>(work: () => T): T;
  /** Ends the SDK: exports the spans still queued. */
  shutdown(): Promise<void>;
  /** BullMQ's `telemetry` option (a bullmq-otel instance). */
  readonly queueTelemetry: unknown;
}

let implementation: TracingImplementation | undefined;

/** Called once by sdk.ts when the SDK has started. */
export function installTracingImplementation(started: TracingImplementation): void {
  implementation = started;
}

/** True when spans are being recorded and exported. */
export function tracingEnabled(): boolean {
  return implementation !== undefined;
}

/**
 * The active span's context as a W3C carrier (what an outbox row or an outgoing request
 * carries), or undefined when tracing is off or no span is active.
 */
export function currentTraceCarrier(): TraceCarrier | undefined {
  return implementation?.currentCarrier();
}

/** `trace_id` and `span_id` of the active span, for log lines; undefined outside a traced request or job. */
export function currentTraceIds(): { trace_id: string; span_id: string } | undefined {
  return implementation?.currentIds();
}

/**
 * Runs `work` inside a new span (a child of `settings.parent`, else of the active span). With
 * tracing off it just runs `work`. Example:
 *
 * ```ts
 * await withSpan('smtp send', { kind: 'client' }, () => transport.sendMail(message));
 * ```
 */
export function withSpan<T>(name: string, settings: SpanSettings, work: () => Promise<T>): Promise<T> {
  return implementation === undefined ? work() : implementation.withSpan(name, settings, work);
}

/** Adds attributes to the active span (cache outcome, rate-limit decision); nothing when off. */
export function annotateSpan(attributes: SpanAttributes): void {
  implementation?.annotate(attributes);
}

/** Names the HTTP server span of the current request after its route template. */
export function nameRequestSpan(route: string): void {
  implementation?.nameRequest(route);
}

/**
 * Runs `work` without recording spans for what it calls (the instrumentations see tracing
 * suppressed); attributes still go to the active span. For the cached-read fast path, whose Redis
 * commands would otherwise cost a span each on the service's hottest request.
 */
export function withoutSpans<T>(work: () => T): T {
  return implementation === undefined ? work() : implementation.withoutSpans(work);
}

/** Exports the spans still queued and stops the SDK (the last step of a shutdown); nothing when off. */
export async function shutdownTracing(): Promise<void> {
  const started = implementation;
  implementation = undefined;
  await started?.shutdown();
}

/** The value for BullMQ's `telemetry` option; undefined when tracing is off. */
export function queueTelemetry(): unknown {
  return implementation?.queueTelemetry;
}
