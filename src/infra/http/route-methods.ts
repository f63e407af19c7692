import { Injectable } from '@nestjs/common';

/**
 * Which methods each registered route answers, so that a request for a known path with another
 * method gets `405 Method Not Allowed` and an `Allow` header instead of a 404. Filled by a
 * Fastify `onRoute` hook (see app.factory.ts) as Nest registers its routes.
 */
@Injectable()
export class RouteMethods {
  private readonly routes: Array<{ pattern: RegExp; methods: Set<string> }> = [];
  /** Methods of catch-all routes (`/*`, e.g. @fastify/cors' OPTIONS): allowed on every path, but proof of none. */
  private readonly everywhere = new Set<string>();

  register(methods: string | string[], url: string): void {
    if (url === '*' || url === '/*') {
      for (const method of [methods].flat()) this.everywhere.add(method.toUpperCase());
      return;
    }
    const pattern = new RegExp(
      `^${url
        .split('/')
        .map((segment) =>
          segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('/')}$`,
    );
    const existing = this.routes.find((route) => route.pattern.source === pattern.source);
    const set = existing?.methods ?? new Set<string>();
    for (const method of [methods].flat()) set.add(method.toUpperCase());
    if (!existing) this.routes.push({ pattern, methods: set });
  }

  /**
   * The methods some route allows for this concrete path, matched exactly (`/v1/products/` is not
   * `/v1/products`). Empty: no route has this path.
   */
  allowedFor(path: string): string[] {
    const allowed = new Set<string>();
    for (const route of this.routes) {
      if (route.pattern.test(path)) for (const method of route.methods) allowed.add(method);
    }
    if (allowed.size === 0) return [];
    for (const method of this.everywhere) allowed.add(method);
    return [...allowed].sort();
  }
}
