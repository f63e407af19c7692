import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SkipThrottle, Throttle } from '@nestjs/throttler';
import { describe, expect, it } from 'vitest';
import { ProblemException } from '../http/problem.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { clientKeyOf } from './client-key.js';
import { MemoryRateLimitStore } from './memory-rate-limit.store.js';
import { rateLimitPolicy, rateLimitState, retryAfterSeconds } from './rate-limit.headers.js';
import { isApiPath } from '../http/api-path.js';
import { ReadRateLimitPort } from './read-rate-limit.port.js';
import { RateLimitGuard } from './throttle.guard.js';
import { tiersFrom } from './throttle.module.js';

describe('RateLimitGuard pieces', () => {
  it('reads the metadata keys @Throttle and @SkipThrottle write (they are not exported by the package)', () => {
    class Routes {
      @Throttle({ default: { limit: 5, ttl: 1_000 } })
      strict(): void {}

      @SkipThrottle({ burst: true })
      relaxed(): void {}
    }
    const handler = (name: 'strict' | 'relaxed'): object =>
      Object.getOwnPropertyDescriptor(Routes.prototype, name)!.value as object;
    expect(Reflect.getMetadata('THROTTLER:LIMITdefault', handler('strict'))).toBe(5);
    expect(Reflect.getMetadata('THROTTLER:TTLdefault', handler('strict'))).toBe(1_000);
    expect(Reflect.getMetadataKeys(handler('strict'))).toContain('THROTTLER:TRACKERdefault');
    expect(Reflect.getMetadata('THROTTLER:SKIPburst', handler('relaxed'))).toBe(true);
  });

  it('limits /v1 routes only', () => {
    expect(isApiPath('/v1/products/:id')).toBe(true);
    expect(isApiPath('/v1')).toBe(true);
    for (const path of [
      '/health/live',
      '/health/ready',
      '/metrics',
      '/docs',
      '/docs-json',
      '/admin/queues',
      '/v10/x',
      '/v1x',
    ]) {
      expect(isApiPath(path), path).toBe(false);
    }
  });

  it('counts per API key name when one is valid, else per IP (IPv6 per /64)', () => {
    expect(clientKeyOf({ ip: '203.0.113.7', apiKeyName: 'mobile' })).toBe('key:mobile');
    expect(clientKeyOf({ ip: '203.0.113.7', apiKeyName: undefined })).toBe('ip:203.0.113.7');
    expect(clientKeyOf({ ip: '::ffff:203.0.113.7', apiKeyName: undefined })).toBe('ip:203.0.113.7');
    expect(clientKeyOf({ ip: '2001:db8:1:2:aaaa::1', apiKeyName: undefined })).toBe('ip:2001:db8:1:2::/64');
  });

  it('writes the IETF fields as structured-field lists, seconds rounded up', () => {
    const tiers = [
      { name: 'burst', limit: 20, windowMs: 1_000, remaining: 19, resetMs: 999 },
      { name: 'default', limit: 100, windowMs: 60_000, remaining: 42, resetMs: 17_001 },
    ];
    expect(rateLimitPolicy(tiers)).toBe('"burst";q=20;w=1, "default";q=100;w=60');
    expect(rateLimitState(tiers)).toBe('"burst";r=19;t=1, "default";r=42;t=18');
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(0)).toBe(1);
    expect(retryAfterSeconds(1_001)).toBe(2);
  });
});

describe('RateLimitGuard', () => {
  class Things {
    list(): void {}

    @Throttle({ default: { limit: 1, ttl: 60_000 } })
    expensive(): void {}

    @SkipThrottle({ default: true, burst: true })
    free(): void {}
  }

  const handler = (name: keyof Things): (() => void) =>
    Object.getOwnPropertyDescriptor(Things.prototype, name)!.value as () => void;

  async function guardWith(store = new MemoryRateLimitStore()) {
    const config = {
      limit: 3,
      windowMs: 60_000,
      burst: { limit: 0, windowMs: 1_000 },
      write: { limit: 1, windowMs: 60_000 },
    } as Parameters<typeof tiersFrom>[0];
    const metrics = new MetricsService();
    const options = { throttlers: tiersFrom(config) };
    const reads = new ReadRateLimitPort(options, store, new Reflector());
    const guard = new RateLimitGuard(options, store, new Reflector(), metrics, reads);
    await guard.onModuleInit();
    return { guard, metrics };
  }

  function call(
    guard: RateLimitGuard,
    name: keyof Things,
    request: { method?: string; url?: string; ip?: string } = {},
  ) {
    const headers: Record<string, string | number> = {};
    const reply = { header: (key: string, value: string | number) => (headers[key] = value) };
    const url = request.url ?? '/v1/things';
    const req = { method: request.method ?? 'GET', url, routeOptions: { url }, ip: request.ip ?? '203.0.113.1' };
    const context = {
      getType: () => 'http',
      getHandler: () => handler(name),
      getClass: () => Things,
      switchToHttp: () => ({ getRequest: () => req, getResponse: () => reply }),
    } as unknown as ExecutionContext;
    return { result: guard.canActivate(context), headers };
  }

  it('refuses with a 429 problem carrying Retry-After, and counts the refusal by tier', async () => {
    const { guard, metrics } = await guardWith();
    for (let i = 0; i < 3; i++) await expect(call(guard, 'list').result).resolves.toBe(true);
    const refused = call(guard, 'list');
    const error = await refused.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProblemException);
    expect((error as ProblemException).getStatus()).toBe(429);
    expect((error as ProblemException).problem.headers?.['retry-after']).toMatch(/^\d+$/);
    expect(refused.headers).toEqual({ 'RateLimit-Policy': '"default";q=3;w=60', RateLimit: '"default";r=0;t=60' });
    expect(await metrics.registry.getSingleMetricAsString('throttled_requests_total')).toMatch(/tier="default"} 1/);
  });

  it('gives a route with its own @Throttle limits its own bucket, and @SkipThrottle skips', async () => {
    const { guard } = await guardWith();
    await expect(call(guard, 'expensive').result).resolves.toBe(true);
    await expect(call(guard, 'expensive').result).rejects.toBeInstanceOf(ProblemException);
    // The shared default bucket was not touched by the route's own one.
    const listed = call(guard, 'list');
    await expect(listed.result).resolves.toBe(true);
    expect(listed.headers.RateLimit).toBe('"default";r=2;t=60');
    for (let i = 0; i < 10; i++) {
      const free = call(guard, 'free');
      await expect(free.result).resolves.toBe(true);
      expect(free.headers).toEqual({});
    }
  });

  it('applies the write tier to writes only, and nothing outside /v1', async () => {
    const { guard } = await guardWith();
    const write = call(guard, 'list', { method: 'POST' });
    await expect(write.result).resolves.toBe(true);
    expect(write.headers['RateLimit-Policy']).toBe('"default";q=3;w=60, "write";q=1;w=60');
    await expect(call(guard, 'list', { method: 'PATCH' }).result).rejects.toBeInstanceOf(ProblemException);
    await expect(call(guard, 'list').result).resolves.toBe(true);
    for (let i = 0; i < 10; i++) await expect(call(guard, 'list', { url: '/health/ready' }).result).resolves.toBe(true);
  });
});
