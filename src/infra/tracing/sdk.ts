import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { getRPCMetadata, RPCType, suppressTracing, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { BullMQOtel } from 'bullmq-otel';
import type { TracingSettings } from '../../config/index.js';
import {
  installTracingImplementation,
  type SpanSettings,
  type TraceCarrier,
  type TracingImplementation,
} from './trace-context.js';

/** The tracer name of the service's own spans (unit of work, outbox hand-over, SMTP). */
const TRACER = 'nest-service-template';

/** Requests that start no trace. */
const QUIET_PATHS = /^\/(health\/|metrics(\?|$))/;

const KINDS = {
  internal: SpanKind.INTERNAL,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
} as const;

/**
 * Starts the OpenTelemetry SDK: the global tracer provider, W3C propagation, the async-local
 * context manager and the instrumentations, then installs the seam's implementation. Loaded only
 * when tracing is on (src/telemetry.ts), after the ESM loader hook is registered and before the
 * application imports pg, Redis clients or undici.
 */
export function startTracingSdk(settings: TracingSettings): void {
  const exporterConfig = { url: settings.tracesUrl, headers: settings.headers };
  const exporter =
    settings.protocol === 'http/json' ? new OtlpJsonExporter(exporterConfig) : new OtlpProtobufExporter(exporterConfig);
  const provider = new TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ ...settings.resourceAttributes, [ATTR_SERVICE_NAME]: settings.serviceName }),
    ),
    sampler: new EntryPointSampler(samplerOf(settings)),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);

  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // Server spans only: the service makes no outgoing node:http calls but the exporter's own.
      new HttpInstrumentation({
        disableOutgoingRequestInstrumentation: true,
        // Probes and scrapes arrive every few seconds: a trace each would bury the real ones.
        ignoreIncomingRequestHook: (request) => QUIET_PATHS.test(request.url ?? ''),
      }),
      // Without a parent, no span: BullMQ's polling, the sweeper's ticks and the cache's pub/sub
      // would otherwise each make a trace of their own.
      new PgInstrumentation({ requireParentSpan: true }),
      // Commands by name only: the default serializer records every argument of EVALSHA, which
      // carries whole response bodies (cache write-through) and job data (BullMQ adds).
      new RedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
    ],
  });

  const tracer = trace.getTracer(TRACER);
  const implementation: TracingImplementation = {
    currentCarrier(): TraceCarrier | undefined {
      const carrier: Partial<TraceCarrier> = {};
      propagation.inject(context.active(), carrier);
      return carrier.traceparent === undefined ? undefined : (carrier as TraceCarrier);
    },
    currentIds() {
      const span = trace.getActiveSpan();
      if (span === undefined) return undefined;
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
    withSpan<T>(name: string, spanSettings: SpanSettings, work: () => Promise<T>): Promise<T> {
      const parent =
        spanSettings.parent === undefined ? context.active() : propagation.extract(ROOT_CONTEXT, spanSettings.parent);
      const options = { kind: KINDS[spanSettings.kind ?? 'internal'], attributes: spanSettings.attributes };
      return tracer.startActiveSpan(name, options, parent, (span) => runInSpan(span, work));
    },
    annotate(attributes) {
      trace.getActiveSpan()?.setAttributes(attributes);
    },
    nameRequest(route) {
      // The HTTP instrumentation names its server span `<method> <route>` when it ends.
      const metadata = getRPCMetadata(context.active());
      if (metadata?.type === RPCType.HTTP) metadata.route = route;
    },
    withoutSpans: (work) => context.with(suppressTracing(context.active()), work),
    shutdown: () => provider.shutdown(),
    queueTelemetry: new BullMQOtel({ tracerName: 'bullmq' }),
  };
  installTracingImplementation(implementation);
}

async function runInSpan<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * A trace starts only where work enters the service: a request (server span), a job (consumer) or
 * a job added outside any trace (producer). Root spans of background chores (BullMQ's stalled-job
 * checks, Redis connects, its close) are not recorded; everything else goes to the configured sampler.
 */
class EntryPointSampler implements Sampler {
  constructor(private readonly configured: Sampler) {}

  shouldSample(
    parent: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const entry = kind === SpanKind.SERVER || kind === SpanKind.CONSUMER || kind === SpanKind.PRODUCER;
    if (!entry && trace.getSpanContext(parent) === undefined) return { decision: SamplingDecision.NOT_RECORD };
    return this.configured.shouldSample(parent, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `EntryPointSampler{${this.configured.toString()}}`;
  }
}

function samplerOf(settings: TracingSettings): Sampler {
  const ratio = new TraceIdRatioBasedSampler(settings.samplerRatio);
  switch (settings.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
