/** The resolved behaviour (TTLs, waits) the service runs with; see `CacheBehaviour`. */
export const CACHE_BEHAVIOUR = Symbol('CACHE_BEHAVIOUR');

/** Reflection key of `@Cached(...)`. */
export const CACHED_OPTIONS = 'cache:cached-options';
