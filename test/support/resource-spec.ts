import { randomInt, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';

/** What a spec's `setup` may call: the app under test's `request`. */
export type Requester = (path: string, init?: RequestInit & { json?: unknown }) => Promise<Response>;

/** Values a spec's `setup` created for it (e.g. the id of a referenced product), handed to `valid`. */
export type SetupValues = Record<string, string>;

/**
 * What the shared contract suite (test/e2e/resources.e2e-spec.ts) needs to know about one resource.
 * One file per resource in test/support/resources/ (the generator writes one); the suite runs every file there.
 */
export interface ResourceSpec {
  name: string;
  path: string;
  /** The aggregate type its events carry (`user` → `user.created`). */
  aggregate: string;
  /** Creates what valid bodies refer to, on each app the suite boots (a product for an order). */
  setup?(request: Requester): Promise<SetupValues>;
  /** A valid create body, unique per `n`. */
  valid(n: number, setup: SetupValues): Record<string, unknown>;
  /** The documented response fields, exactly. */
  fields: string[];
  /**
   * The unique field, and a variant of a taken value that must collide (case-insensitively).
   * Absent for a resource with no natural unique field: the suite then skips the 409 cases and says so.
   */
  unique?: { field: string; collide(value: string): string };
  /** Fields holding a reference to another resource: a uuid that names no row is a 400 naming the field. */
  references?: string[];
  /** Fields that may be omitted on create and are then `null` in the response. */
  optional?: string[];
  /** Invalid values, each a 400 naming its field. */
  invalid?: Array<[field: string, value: unknown]>;
  /** A valid partial update. */
  patch: Record<string, unknown>;
}

/** A suffix that keeps this run's unique values apart from other runs' rows. */
export const run = randomUUID().slice(0, 8);

/** Every spec in test/support/resources/, by file: deleting a resource's file takes it out of the suite. */
export async function loadResourceSpecs(): Promise<ResourceSpec[]> {
  const directory = new URL('./resources/', import.meta.url);
  const files = readdirSync(directory)
    .filter((file) => file.endsWith('.ts'))
    .sort();
  const modules = await Promise.all(
    files.map((file) => import(new URL(file, directory).href) as Promise<{ spec: ResourceSpec }>),
  );
  return modules.map((module) => module.spec);
}

/**
 * Creates one row of `spec` (after its own setup) for another resource to refer to, and returns its
 * id. Its `n` is random and large, clear of the small ones the suite uses on the same database.
 */
export async function createReferenced(request: Requester, spec: ResourceSpec): Promise<string> {
  const values = (await spec.setup?.(request)) ?? {};
  const response = await request(spec.path, { method: 'POST', json: spec.valid(randomInt(100_000, 999_999), values) });
  if (response.status !== 201) throw new Error(`creating a referenced ${spec.aggregate}: ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}
