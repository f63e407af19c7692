import { Controller, Get, Logger, Req, VERSION_NEUTRAL } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { withTimeout } from '../../common/index.js';
import { ApiProblemResponses, ProblemException, ShutdownState } from '../http/index.js';
import { HealthIndicatorRegistry, type ReadinessProbe } from './health-indicator.registry.js';
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

  /** Every probe at once, each bounded by PROBE_TIMEOUT_MS; a failure is logged with its reason. */
  private async checkAll(reqId: string): Promise<Record<string, ComponentStatus>> {
    const entries = this.registry.entries();
    const outcomes = await Promise.allSettled(entries.map(([name, probe]) => runProbe(name, probe)));
    return Object.fromEntries(
      entries.map(([name], index): [string, ComponentStatus] => {
        const outcome = outcomes[index]!;
        if (outcome.status === 'fulfilled') return [name, { status: 'up' }];
        const reason = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
        this.logger.warn({ msg: 'readiness probe failed', reqId, component: name, reason });
        return [name, { status: 'down' }];
      }),
    );
  }
}

/** Runs one probe; its signal aborts when the probe is given up on, so it can drop its connection. */
async function runProbe(name: string, probe: ReadinessProbe): Promise<void> {
  const controller = new AbortController();
  try {
    await withTimeout(
      Promise.resolve().then(() => probe(controller.signal)),
      PROBE_TIMEOUT_MS,
      `the ${name} probe`,
    );
  } finally {
    controller.abort();
  }
}
