import 'reflect-metadata';
import { createRequire } from 'node:module';
import { type INestApplication, ValidationPipe, VersioningType } from '@nestjs/common';
import { type AbstractHttpAdapter, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { BaselineModule } from './baseline.module.js';

/** Exit code the harness reads as "this platform is not installed here" (reported as n/a). */
const UNAVAILABLE = 3;

/** Boots the stock baseline on Fastify or Express (BASELINE_PLATFORM), on PORT. */
async function bootstrap(): Promise<void> {
  const platform = process.env.BASELINE_PLATFORM ?? 'fastify';
  let app: INestApplication;
  if (platform === 'express') {
    // Nest's default platform, kept out of the project's tree (as an optional peer of @nestjs/core
    // it would land in production installs): bench/baselines has its own package.json, installed
    // by the harness. Its Nest peers resolve from the project's node_modules, so one @nestjs/core.
    let ExpressAdapter: new () => AbstractHttpAdapter;
    try {
      const fromBaselines = createRequire(new URL('../../../baselines/package.json', import.meta.url));
      ({ ExpressAdapter } = fromBaselines('@nestjs/platform-express') as {
        ExpressAdapter: new () => AbstractHttpAdapter;
      });
    } catch {
      process.stderr.write('@nestjs/platform-express is not installed: npm ci --prefix bench/baselines\n');
      process.exit(UNAVAILABLE);
    }
    app = await NestFactory.create(BaselineModule, new ExpressAdapter(), { logger: ['error', 'warn'] });
  } else {
    app = await NestFactory.create<NestFastifyApplication>(BaselineModule, new FastifyAdapter(), {
      logger: ['error', 'warn'],
    });
  }
  app.enableVersioning({ type: VersioningType.URI });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  await app.listen(Number(process.env.PORT ?? 3100), '127.0.0.1');
  process.on('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
}

void bootstrap();
