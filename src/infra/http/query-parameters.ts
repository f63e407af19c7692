import { PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { ModulesContainer } from '@nestjs/core';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants.js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { getMetadataStorage } from 'class-validator';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProblemException } from './problem.js';
import { MAX_FIELD_ERRORS } from './validation.js';

/** The Fastify route config member that lists a controller route's query parameters. */
interface QueryRouteConfig {
  queryParameters?: readonly string[];
}

interface RouteArgument {
  index: number;
  data?: unknown;
}

/**
 * The one rule for query parameters on every controller route: a parameter the route does not
 * declare is a 400 naming it, and so is a repeated one (`?limit=1&limit=2`), checked in an
 * `onRequest` hook, before the cache, guards and pipes. A route declares its parameters with
 * `@Query() dto: SomeQueryDto` (the DTO's validated properties) or `@Query('name')`; a route
 * without `@Query` accepts none. Routes that are not Nest controllers' (Swagger UI, the queue
 * dashboard) are left to their owners.
 *
 * Must run after the modules are created and before `app.init()` registers the routes: the lists
 * travel to Fastify as route config (`@RouteConfig`'s metadata), so the hook reads them from
 * `request.routeOptions.config` without any lookup.
 */
export function installQueryParameterRule(app: NestFastifyApplication, fastify: FastifyInstance): void {
  for (const module of app.get(ModulesContainer).values()) {
    for (const controller of module.controllers.values()) {
      const type = controller.metatype as (new (...args: never[]) => object) | null;
      if (type) declareQueryParameters(type);
    }
  }
  fastify.addHook('onRequest', (request, _reply, done) => {
    const accepted = (request.routeOptions.config as QueryRouteConfig | undefined)?.queryParameters;
    done(accepted !== undefined && request.url.includes('?') ? queryProblem(request, accepted) : undefined);
  });
}

function declareQueryParameters(controller: new (...args: never[]) => object): void {
  const prototype = controller.prototype as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(prototype)) {
    const handler = name === 'constructor' ? undefined : prototype[name];
    // Only route handlers carry a path (`@Get()`, `@Post()`…).
    if (typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
    const accepted = queryParametersOf(controller, name);
    if (accepted === undefined) continue;
    const config = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) ?? {}) as Record<string, unknown>;
    Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { ...config, queryParameters: accepted }, handler);
  }
}

/** The names a handler's `@Query` arguments accept; `undefined` when one takes the whole query untyped. */
function queryParametersOf(
  controller: new (...args: never[]) => object,
  method: string,
): readonly string[] | undefined {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, method) ?? {}) as Record<string, RouteArgument>;
  const types = (Reflect.getMetadata('design:paramtypes', controller.prototype as object, method) ?? []) as unknown[];
  const accepted: string[] = [];
  for (const [key, argument] of Object.entries(args)) {
    if (Number(key.split(':')[0]) !== Number(RouteParamtypes.QUERY)) continue;
    if (typeof argument.data === 'string') {
      accepted.push(argument.data);
      continue;
    }
    const dto = types[argument.index];
    if (typeof dto !== 'function' || dto === Object) return undefined;
    for (const rule of getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false))
      accepted.push(rule.propertyName);
  }
  return Object.freeze([...new Set(accepted)]);
}

function queryProblem(request: FastifyRequest, accepted: readonly string[]): ProblemException | undefined {
  const query = request.query as Record<string, unknown>;
  const unknown = Object.keys(query).filter((name) => !accepted.includes(name));
  if (unknown.length > 0) {
    const detail =
      accepted.length === 0
        ? 'This route takes no query parameters'
        : `Unknown query parameter; this route takes ${accepted.join(', ')}`;
    return new ProblemException(400, detail, {
      errors: unknown.slice(0, MAX_FIELD_ERRORS).map((field) => ({ field, message: 'is not a known query parameter' })),
    });
  }
  const repeated = Object.keys(query).filter((name) => Array.isArray(query[name]));
  if (repeated.length > 0) {
    return new ProblemException(400, 'A query parameter is repeated; send each once', {
      errors: repeated.map((field) => ({ field, message: 'must appear once' })),
    });
  }
  return undefined;
}
