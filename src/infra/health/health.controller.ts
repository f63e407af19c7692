import { Controller, Get, VERSION_NEUTRAL } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ProblemException } from '../http/problem.js';
import { ShutdownState } from '../http/shutdown-state.js';

/** Driver messages stay in the logs: a probe's answer says only up or down. */
type ComponentStatus = { status: 'up' | 'down' };

const CHECK_TIMEOUT_MS = 1000;

@ApiTags('health')
@Controller({ path: 'health', version: VERSION_NEUTRAL })
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly shutdown: ShutdownState,
  ) {}

  /** 200 while the process runs. */
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** 200 when every dependency answers; 503 naming the failing ones, or while shutting down. */
  @Get('ready')
  async ready(): Promise<{ status: 'ok'; details: Record<string, ComponentStatus> }> {
    const details: Record<string, ComponentStatus> = {
      database: await check(() => this.dataSource.query('SELECT 1')),
    };
    const failing = Object.entries(details)
      .filter(([, component]) => component.status === 'down')
      .map(([name]) => name);
    if (this.shutdown.draining) {
      throw new ProblemException(503, 'The service is shutting down', { extensions: { details } });
    }
    if (failing.length > 0) {
      throw new ProblemException(503, `Not ready: ${failing.join(', ')} unavailable`, { extensions: { details } });
    }
    return { status: 'ok', details };
  }
}

async function check(probe: () => Promise<unknown>): Promise<ComponentStatus> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: 'up' };
  } catch {
    return { status: 'down' };
  } finally {
    clearTimeout(timer);
  }
}
