import { SkipThrottle, Throttle } from '@nestjs/throttler';

/*
 * The metadata key prefixes `@Throttle()` and `@SkipThrottle()` write (the tier's name follows
 * each), found by applying them to a probe method: @nestjs/throttler does not export its constants.
 * Marker values tell the keys apart. A rename in the package is followed; a change in how the keys
 * are built (not `prefix + tier`) fails here, at import, instead of ignoring every route's limits.
 */

const PROBE_TIER = 'probe';
const LIMIT_MARK = 7919;
const TTL_MARK = 7907;
const trackerMark = (): string => 'probe';

function prefixWrittenBy(decorator: MethodDecorator, value: unknown): string {
  class Probe {
    handler(): void {}
  }
  const descriptor = Object.getOwnPropertyDescriptor(Probe.prototype, 'handler')!;
  decorator(Probe.prototype, 'handler', descriptor);
  const target = descriptor.value as object;
  const keys = Reflect.getMetadataKeys(target)
    .map(String)
    .filter((key) => Reflect.getMetadata(key, target) === value);
  if (keys.length !== 1 || !keys[0]!.endsWith(PROBE_TIER)) {
    throw new Error(`expected one throttler metadata key for ${String(value)}, found ${keys.join(', ')}`);
  }
  return keys[0]!.slice(0, -PROBE_TIER.length);
}

const throttled = Throttle({ [PROBE_TIER]: { limit: LIMIT_MARK, ttl: TTL_MARK, getTracker: trackerMark } });

/** `@Throttle({ tier: { limit } })` writes the limit under `THROTTLER_LIMIT + tier`. */
export const THROTTLER_LIMIT = prefixWrittenBy(throttled, LIMIT_MARK);
export const THROTTLER_TTL = prefixWrittenBy(throttled, TTL_MARK);
export const THROTTLER_TRACKER = prefixWrittenBy(throttled, trackerMark);
/** `@SkipThrottle({ tier: true })` writes `true` under `THROTTLER_SKIP + tier`. */
export const THROTTLER_SKIP = prefixWrittenBy(SkipThrottle({ [PROBE_TIER]: true }), true);
