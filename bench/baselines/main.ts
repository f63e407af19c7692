import 'reflect-metadata';
import { type INestApplication, ValidationPipe, VersioningType } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { BaselineModule } from './baseline.module.js';

/** Exit code the harness reads as "this platform is not installed here" (reported as n/a). */
const UNAVAILABLE = 3;

/** Boots the stock baseline on Fastify or Express (BASELINE_PLATFORM), on PORT. */
async function bootstrap(): Promise<void> {
  const platform = process.env.BASELINE_PLATFORM ?? 'fastify';
  let app: INestApplication;
  if (platform === 'express') {
    // Nest's default platform; not a dependency of the template, so it may be missing.
    const expressPlatform = '@nestjs/platform-express';
    try {
      await import(expressPlatform);
    } catch {
      process.stderr.write(
        `${expressPlatform} is not installed: add it to devDependencies to run the Express baseline\n`,
      );
      process.exit(UNAVAILABLE);
    }
    app = await NestFactory.create(BaselineModule, { logger: ['error', 'warn'] });
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
