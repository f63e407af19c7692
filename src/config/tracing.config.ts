import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { type RawEnv, currentEnv, parseEnv, url } from './env.js';

/** What `OTEL_SERVICE_NAME` defaults to (the package's name). */
export const DEFAULT_SERVICE_NAME = 'nest-service-template';

const protocol = z
  .enum(['http/protobuf', 'http/json'], { error: 'expected http/protobuf or http/json (grpc is not supported)' })
  .optional();

const sampler = z
  .enum(
    [
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ],
    {
      error:
        'expected always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio',
    },
  )
  .default('parentbased_always_on');

/** `key=value,key=value`, values percent-encoded (the OpenTelemetry spec's format for headers and resource attributes). */
const keyValueList = z
  .string()
  .optional()
  .refine((value) => value === undefined || parseKeyValues(value) !== undefined, {
    error: 'expected comma-separated key=value pairs (values percent-encoded)',
  });

// The standard OpenTelemetry SDK variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
export const tracingEnvSchema = z.object({
  OTEL_SDK_DISABLED: z.enum(['true', 'false'], { error: 'expected true or false' }).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http:', 'https:'], 'an http:// or https:// URL, e.g. http://collector:4318'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url(
    ['http:', 'https:'],
    'an http:// or https:// URL, e.g. http://collector:4318/v1/traces',
  ),
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol,
  OTEL_EXPORTER_OTLP_HEADERS: keyValueList,
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: keyValueList,
  OTEL_SERVICE_NAME: z.string().max(200, { error: 'expected at most 200 characters' }).optional(),
  OTEL_RESOURCE_ATTRIBUTES: keyValueList,
  OTEL_TRACES_SAMPLER: sampler,
  OTEL_TRACES_SAMPLER_ARG: z.coerce
    .number({ error: 'expected a ratio from 0 to 1' })
    .min(0, { error: 'expected a ratio from 0 to 1' })
    .max(1, { error: 'expected a ratio from 0 to 1' })
    .optional(),
});

export type TracingSampler = z.output<typeof tracingEnvSchema>['OTEL_TRACES_SAMPLER'];

/** What the tracing SDK is started with; `enabled` false when no OTLP endpoint is set. */
export interface TracingSettings {
  enabled: boolean;
  /** Where spans are POSTed: the traces endpoint as given, or `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`. */
  tracesUrl: string | undefined;
  protocol: 'http/protobuf' | 'http/json';
  headers: Record<string, string>;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  sampler: TracingSampler;
  /** The ratio of the `*traceidratio` samplers (default 1). */
  samplerRatio: number;
}

/**
 * The tracing settings from the environment. A function of its own (besides the Nest namespace)
 * because the preload (src/telemetry.ts) needs them before anything else is imported.
 */
export function tracingSettings(env: RawEnv = currentEnv()): TracingSettings {
  const parsed = parseEnv(tracingEnvSchema, env);
  const tracesUrl =
    parsed.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (parsed.OTEL_EXPORTER_OTLP_ENDPOINT === undefined
      ? undefined
      : `${parsed.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`);
  return {
    enabled: tracesUrl !== undefined && parsed.OTEL_SDK_DISABLED !== 'true',
    tracesUrl,
    // The spec's default for OTLP/HTTP exporters is protobuf.
    protocol: parsed.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? parsed.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
    // Signal-specific headers win over the general ones, key by key.
    headers: {
      ...parseKeyValues(parsed.OTEL_EXPORTER_OTLP_HEADERS ?? ''),
      ...parseKeyValues(parsed.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? ''),
    },
    serviceName: parsed.OTEL_SERVICE_NAME ?? DEFAULT_SERVICE_NAME,
    resourceAttributes: parseKeyValues(parsed.OTEL_RESOURCE_ATTRIBUTES ?? '') ?? {},
    sampler: parsed.OTEL_TRACES_SAMPLER,
    samplerRatio: parsed.OTEL_TRACES_SAMPLER_ARG ?? 1,
  };
}

export const tracingConfig = registerAs('tracing', () => tracingSettings());

/** Undefined when `value` is not a well-formed `key=value,…` list. */
function parseKeyValues(value: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const entry of value.split(',')) {
    if (entry.trim() === '') continue;
    const at = entry.indexOf('=');
    if (at <= 0) return undefined;
    try {
      out[decodeURIComponent(entry.slice(0, at).trim())] = decodeURIComponent(entry.slice(at + 1).trim());
    } catch {
      return undefined;
    }
  }
  return out;
}
