import { Controller, Get, Logger, Req, ServiceUnavailableException, VERSION_NEUTRAL } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblemResponses, ProblemException, ShutdownState } from '../http/index.js';
import { HealthIndicatorRegistry } from './health-indicator.registry.js';
import { ComponentStatusDto, LiveResponseDto, ReadyResponseDto } from './health-response.dto.js';

/** Driver messages stay in the logs: a probe's answer says only up or down. */
type ComponentStatus = { status: 'up' | 'down' };

/** Each probe gets this long; a dependency slower than this is not ready to serve traffic. */
const PROBE_TIMEOUT_MS = 1000;

@ApiTags('health')
@ApiExtraModels(ComponentStatusDto)
@SkipThrottle()
@Controller({ path: 'health', version: VERSION_NEUTRAL })
export class HealthController {
  private readonly logger = new Logger('Health');

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly registry: HealthIndicatorRegistry,
    private readonly shutdown: ShutdownState,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: 200 while the process runs' })
  @ApiOkResponse({ type: LiveResponseDto })
  live(): LiveResponseDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness: 200 when every dependency answers',
    description: '503 names the failing components (database, redis, queue…), or says the service is shutting down.',
  })
  @ApiOkResponse({ type: ReadyResponseDto })
  @ApiProblemResponses(503)
  async ready(@Req() request: FastifyRequest): Promise<ReadyResponseDto> {
    const details = await this.checkAll(request.id);
    if (this.shutdown.draining) {
      throw new ProblemException(503, 'The service is shutting down', { extensions: { details } });
    }
    const failing = Object.entries(details)
      .filter(([, component]) => component.status === 'down')
      .map(([name]) => name);
    if (failing.length > 0) {
      throw new ProblemException(503, `Not ready: ${failing.join(', ')} unavailable`, {
        headers: { 'retry-after': '5' },
        extensions: { details },
      });
    }
    return { status: 'ok', details };
  }

  private async checkAll(reqId: string): Promise<Record<string, ComponentStatus>> {
    const checks = this.registry.entries().map(
      ([name, probe]) =>
        (): PromiseLike<HealthIndicatorResult> =>
          this.indicators
            .check(name)
            .attempt(async ({ signal }) => {
              await probe(signal);
            })
            .withTimeout(PROBE_TIMEOUT_MS),
    );
    let results: Record<string, { status: string; message?: unknown }>;
    try {
      results = (await this.health.check(checks)).details;
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      results = (error.getResponse() as { details: typeof results }).details;
      for (const [name, result] of Object.entries(results)) {
        if (result.status === 'down')
          this.logger.warn({ msg: 'readiness probe failed', reqId, component: name, reason: result.message });
      }
    }
    return Object.fromEntries(
      Object.entries(results).map(([name, result]) => [name, { status: result.status === 'down' ? 'down' : 'up' }]),
    );
  }
}
