// (An .mts file: outside the project's tsconfig, which has no ./schema.js to resolve.)
// The README's flows through a client generated from /docs-json (openapi-typescript + openapi-fetch).
// openapi-tools.e2e-spec.ts generates `./schema.js` next to a copy of this file, type-checks both
// with no errors allowed, and runs it against the app: a PATCH schema that requires fields, an
// undocumented status or a mistyped field is a compile error here.
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

/** Compiles only when every status in `S` is documented for the operation. */
type Documented<Responses, S extends keyof Responses> = S;

export type JobStatuses = Documented<paths['/v1/jobs/{jobId}']['get']['responses'], 200 | 400 | 404 | 429 | 503>;
export type ProductReadStatuses = Documented<
  paths['/v1/products/{id}']['get']['responses'],
  200 | 304 | 400 | 404 | 429
>;
export type ProductListStatuses = Documented<paths['/v1/products']['get']['responses'], 200 | 304 | 400 | 429>;
export type ProductPatchStatuses = Documented<
  paths['/v1/products/{id}']['patch']['responses'],
  200 | 400 | 401 | 404 | 409 | 412 | 429
>;
export type ImportStatuses = Documented<
  paths['/v1/products/import']['post']['responses'],
  202 | 400 | 401 | 413 | 415 | 429
>;
export type DeadLetterStatuses = Documented<paths['/admin/dead-letters']['get']['responses'], 200 | 401 | 403 | 404>;

/** What happened, step by step: `step status`. */
export async function runReadmeFlows(baseUrl: string, adminToken: string, unique: string): Promise<string[]> {
  const log: string[] = [];
  const client = createClient<paths>({ baseUrl });

  const created = await client.POST('/v1/products', {
    body: { sku: `TYPED-${unique}`, name: 'Typed T-shirt', priceCents: 1999, currency: 'EUR' },
  });
  log.push(`create-product ${created.response.status}`);
  if (!created.data) throw new Error(`create failed: ${JSON.stringify(created.error)}`);
  const id: string = created.data.id;
  const stock: number = created.data.stock;
  const active: boolean = created.data.active;
  log.push(`defaults stock=${stock} active=${active}`);

  const read = await client.GET('/v1/products/{id}', { params: { path: { id } } });
  log.push(`get-product ${read.response.status}`);
  const etag = read.response.headers.get('etag') ?? '';

  const patched = await client.PATCH('/v1/products/{id}', {
    params: { path: { id }, header: { 'If-Match': etag } },
    body: { stock: 5 },
  });
  log.push(`patch-product ${patched.response.status} stock=${patched.data?.stock} version=${patched.data?.version}`);

  const stale = await client.PATCH('/v1/products/{id}', {
    params: { path: { id }, header: { 'If-Match': etag } },
    body: { active: false },
  });
  log.push(`patch-stale ${stale.response.status} ${stale.error?.status}`);

  const page = await client.GET('/v1/products', { params: { query: { limit: 10 } } });
  log.push(`list-products ${page.response.status} ${page.data?.items.some((item) => item.id === id)}`);

  const imported = await client.POST('/v1/products/import', {
    body: {
      items: [{ sku: `TYPED-IMP-${unique}`, name: 'Imported', priceCents: 100, currency: 'EUR' }, { anything: 'else' }],
    },
  });
  log.push(`import ${imported.response.status} location=${imported.response.headers.get('location') !== null}`);
  if (!imported.data) throw new Error(`import failed: ${JSON.stringify(imported.error)}`);

  let job = await client.GET('/v1/jobs/{jobId}', { params: { path: { jobId: imported.data.jobId } } });
  for (let i = 0; i < 200 && job.data && job.data.state !== 'completed' && job.data.state !== 'failed'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    job = await client.GET('/v1/jobs/{jobId}', { params: { path: { jobId: imported.data.jobId } } });
  }
  const progress: number | undefined = job.data?.progress;
  log.push(`get-job ${job.response.status} ${job.data?.state} progress=${progress}`);
  const unknownJob = await client.GET('/v1/jobs/{jobId}', {
    params: { path: { jobId: '00000000-0000-4000-8000-000000000000' } },
  });
  log.push(`get-job-unknown ${unknownJob.response.status} ${unknownJob.error?.status}`);
  const badJob = await client.GET('/v1/jobs/{jobId}', { params: { path: { jobId: 'not-a-uuid' } } });
  log.push(`get-job-bad ${badJob.response.status} ${badJob.error?.status}`);

  const user = await client.POST('/v1/users', { body: { email: `typed-${unique}@example.com`, name: 'Typed User' } });
  log.push(`create-user ${user.response.status}`);
  if (!user.data) throw new Error(`user create failed: ${JSON.stringify(user.error)}`);
  const userId = user.data.id;
  const gotUser = await client.GET('/v1/users/{id}', { params: { path: { id: userId } } });
  log.push(`get-user ${gotUser.response.status}`);
  const renamed = await client.PATCH('/v1/users/{id}', { params: { path: { id: userId } }, body: { name: 'Renamed' } });
  log.push(`patch-user ${renamed.response.status} ${renamed.data?.name}`);
  const deleted = await client.DELETE('/v1/users/{id}', { params: { path: { id: userId } } });
  log.push(`delete-user ${deleted.response.status}`);
  const gone = await client.GET('/v1/users/{id}', { params: { path: { id: userId } } });
  log.push(`get-user-gone ${gone.response.status} ${gone.error?.status}`);

  const admin = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${adminToken}` } });
  const deadLetters = await admin.GET('/admin/dead-letters');
  log.push(`dead-letters ${deadLetters.response.status} ${Array.isArray(deadLetters.data?.items)}`);
  const anonymous = await client.GET('/admin/dead-letters');
  log.push(`dead-letters-anonymous ${anonymous.response.status} ${anonymous.error?.status}`);
  return log;
}
