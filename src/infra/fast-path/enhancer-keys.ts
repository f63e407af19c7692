import { Get, Header, HttpCode, Redirect, Render, Sse, UseGuards, UseInterceptors } from '@nestjs/common';

/**
 * The metadata keys Nest's public decorators write on a handler, found by applying each one to a
 * probe method: the keys themselves live in `@nestjs/common/constants`, which is not public API.
 */
function keysWrittenBy(...decorators: MethodDecorator[]): string[] {
  class Probe {
    handler(): void {}
  }
  const descriptor = Object.getOwnPropertyDescriptor(Probe.prototype, 'handler')!;
  for (const decorator of decorators) decorator(Probe.prototype, 'handler', descriptor);
  return Reflect.getMetadataKeys(descriptor.value as object).map(String);
}

function onlyKeyWrittenBy(decorator: MethodDecorator): string {
  const keys = keysWrittenBy(decorator);
  if (keys.length !== 1) throw new Error(`expected one metadata key, found ${keys.join(', ')}`);
  return keys[0]!;
}

class ProbeEnhancer {}

/** `@UseGuards(…)` on a handler or a controller. */
export const GUARDS_KEY = onlyKeyWrittenBy(UseGuards(ProbeEnhancer));
/** `@UseInterceptors(…)` on a handler or a controller. */
export const INTERCEPTORS_KEY = onlyKeyWrittenBy(UseInterceptors(ProbeEnhancer));

const ROUTE_KEYS = new Set(keysWrittenBy(Get()));
/**
 * Handler decorators whose effect (status, headers, rendering) Nest applies on every answer, hits
 * included: `@Header`, `@HttpCode`, `@Redirect`, `@Render`, `@Sse` (less what every `@Get` writes).
 */
export const RESPONSE_SHAPING_KEYS: readonly string[] = [
  ...new Set([
    ...keysWrittenBy(Header('x-probe', 'probe')),
    ...keysWrittenBy(HttpCode(200)),
    ...keysWrittenBy(Redirect('/')),
    ...keysWrittenBy(Render('probe')),
    ...keysWrittenBy(Sse()).filter((key) => !ROUTE_KEYS.has(key)),
  ]),
];
