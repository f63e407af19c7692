import { describe, expect, it } from 'vitest';
import { InvalidEnvironmentError } from './env.js';
import { tracingSettings } from './tracing.config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    tracingSettings(env);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEnvironmentError);
    return (error as InvalidEnvironmentError).problems.map((p) => p.variable);
  }
}

describe('tracing settings (OTEL_* variables)', () => {
  it('is off without an endpoint, with the spec defaults', () => {
    expect(tracingSettings({})).toEqual({
      enabled: false,
      tracesUrl: undefined,
      protocol: 'http/protobuf',
      headers: {},
      serviceName: 'nest-service-template',
      resourceAttributes: {},
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
    });
  });

  it('sends to <endpoint>/v1/traces, or to the traces endpoint as given', () => {
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toMatchObject({
      enabled: true,
      tracesUrl: 'http://collector:4318/v1/traces',
    });
    expect(
      tracingSettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp',
      }).tracesUrl,
    ).toBe('https://traces.example.com/otlp');
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).enabled).toBe(
      false,
    );
  });

  it('reads protocol, headers, resource attributes and sampler, the traces-specific ones winning', () => {
    expect(
      tracingSettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_HEADERS: 'api-key=general,x-team=core',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'api-key=s%3Dcret',
        OTEL_SERVICE_NAME: 'users-api',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod, service.version=1.2.3',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      }),
    ).toMatchObject({
      protocol: 'http/json',
      headers: { 'api-key': 's=cret', 'x-team': 'core' },
      serviceName: 'users-api',
      resourceAttributes: { 'deployment.environment.name': 'prod', 'service.version': '1.2.3' },
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
    });
  });

  it('names every bad variable', () => {
    expect(
      problemsOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign',
        OTEL_TRACES_SAMPLER: 'sometimes',
        OTEL_TRACES_SAMPLER_ARG: '2',
      }).sort(),
    ).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_HEADERS',
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'OTEL_TRACES_SAMPLER',
      'OTEL_TRACES_SAMPLER_ARG',
    ]);
  });
});
