import { readdirSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { RepoCopy } from '../support/repo-copy.js';
import type { ResourceSpec } from '../support/resource-spec.js';
import { spec as productSpec } from '../support/resources/products.js';
import { spec as userSpec } from '../support/resources/users.js';
import { startService } from '../support/service-process.js';

// `npm run generate -- resource` and "Remove a feature" (README), each on a small copy of the
// repository (sources and settings, node_modules linked): build, type-check, lint, then run the
// contract suite (generated resources) or the built service (trimmed trees) on a real database.

const GENERATE = 'scripts/generate/index.mjs';
const ORDERS = [
  'resource',
  'orders',
  'productId:ref:products',
  'quantity:int:1:10000',
  'status:enum:pending,paid,shipped',
  'reference:text:64:unique',
  'note:text:500:optional',
];
// No unique field (the suite states its 409 cases do not apply), and the types orders lack.
const TAGS = ['resource', 'tags', 'label:text:40', 'pinned:bool', 'dueAt:timestamp:optional', 'owner:email:optional'];

/** Every file under `root`, relative, sorted: what "writes nothing" compares. */
function tree(copy: RepoCopy): string[] {
  return (readdirSync(copy.path('src'), { recursive: true }) as string[])
    .concat((readdirSync(copy.path('test'), { recursive: true }) as string[]).map((file) => `test/${file}`))
    .sort();
}

describe('npm run generate -- resource', () => {
  let copy: RepoCopy;

  beforeAll(() => {
    copy = RepoCopy.create('generate');
  });

  afterAll(() => copy?.delete());

  it('refuses bad arguments with a clear error and writes nothing', async () => {
    const before = tree(copy);
    const appModule = copy.read('src/app.module.ts');
    const cases: Array<[string[], string]> = [
      [[], 'missing the command'],
      [['resource'], 'missing the resource name'],
      [['resource', 'Orders', 'a:bool'], 'must be kebab case'],
      [['resource', 'widgets'], 'at least one field'],
      [['resource', 'widgets', 'size:number'], 'unknown type "number"'],
      [['resource', 'widgets', 'size:int:10:1'], 'min is greater than max'],
      [['resource', 'widgets', 'size:text'], 'expected size:text:<max length>'],
      [['resource', 'widgets', 'owner:ref:customers'], 'there is no resource "customers"'],
      [['resource', 'widgets', 'active:bool:unique'], 'unique is supported on text and email'],
      [['resource', 'widgets', 'id:text:10'], 'one every resource already has'],
      [['resource', 'users', 'nick:text:10'], 'src/modules/users already exists'],
      // A valid field before a bad one: still nothing written.
      [['resource', 'widgets', 'label:text:10', 'colour:enum:Red,green'], 'enum values must be lower case'],
    ];
    for (const [args, message] of cases) {
      const result = await copy.node(GENERATE, args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(message);
      expect(result.stderr).toContain('usage: npm run generate -- resource');
    }
    expect(tree(copy)).toEqual(before);
    expect(copy.read('src/app.module.ts')).toBe(appModule);
  });

  it('generates orders (reference, enum, int, unique text) and tags (no unique field) that build, lint clean and pass the contract suite', async () => {
    for (const args of [ORDERS, TAGS]) {
      const result = await copy.node(GENERATE, args);
      expect(result.code, result.stderr).toBe(0);
    }
    expect(copy.read('src/app.module.ts')).toMatch(/OrdersModule,\n\s+TagsModule,\n\s+\]/);
    const written = (readdirSync(copy.path('src/modules/orders'), { recursive: true }) as string[]).sort();
    expect(written).toEqual([
      'dto',
      'dto/create-order.dto.ts',
      'dto/order-response.dto.ts',
      'dto/update-order.dto.ts',
      'order.entity.ts',
      'order.events.ts',
      'orders.cache.ts',
      'orders.controller.ts',
      'orders.module.ts',
      'orders.repository.ts',
      'orders.service.ts',
    ]);
    const generated = [
      'src/modules/orders',
      'src/modules/tags',
      'src/app.module.ts',
      'src/infra/database/migrations',
      'test/support/resources',
    ];
    expect(await copy.buildAndCheck(generated)).toBeUndefined();
    const prettier = await copy.node('node_modules/prettier/bin/prettier.cjs', ['--check', ...generated]);
    expect(prettier.code, prettier.stdout + prettier.stderr).toBe(0);
    // No TODOs to fill in: the output is finished code.
    const grep = readdirSync(copy.path('src/modules/orders'), { recursive: true }) as string[];
    for (const file of grep.filter((name) => name.endsWith('.ts'))) {
      expect(copy.read(`src/modules/orders/${file}`), file).not.toMatch(/TODO|FIXME/);
    }

    const suite = await copy.node('node_modules/vitest/vitest.mjs', [
      'run',
      'test/e2e/resources.e2e-spec.ts',
      '--testNamePattern',
      '(orders|tags)',
      '--reporter',
      'verbose',
    ]);
    const output = suite.stdout + suite.stderr;
    expect(suite.code, output).toBe(0);
    // Both resources' contracts ran, with their own cases (the reference; the stated absence of a unique field).
    const plain = stripVTControlCharacters(output);
    expect(plain).toContain('answers a productId that refers to no row with 400 naming the field');
    expect(plain).toContain('has no unique field: the 409 cases do not apply');
    expect(Number(/Tests\s+(\d+) passed/.exec(plain)?.[1])).toBeGreaterThanOrEqual(40);
  }, 300_000);
});

/** What each trim deletes: a feature's folder (and its contract-suite entry), and what only it used. */
const TRIMS: Array<{ name: string; folders: string[]; remaining: ResourceSpec[]; gone: string[] }> = [
  {
    name: 'notifications',
    folders: ['notifications'],
    remaining: [userSpec, productSpec],
    gone: ['/admin/dead-letters'],
  },
  {
    name: 'popularity',
    folders: ['popularity'],
    remaining: [userSpec, productSpec],
    gone: ['/v1/products/popular', '/v1/products/{id}/stats'],
  },
  // Popularity reads products through their module: it goes with them.
  { name: 'products', folders: ['products', 'popularity'], remaining: [userSpec], gone: ['/v1/products'] },
  { name: 'users', folders: ['users'], remaining: [productSpec], gone: ['/v1/users'] },
];

describe('removing a feature: its folder and its line in app.module.ts', () => {
  it.each(TRIMS)(
    'without $name: builds, type-checks, lints, and serves the rest',
    async (trim) => {
      const copy = RepoCopy.create(`trim-${trim.name}`);
      try {
        let appModule = copy.read('src/app.module.ts');
        for (const folder of trim.folders) {
          copy.remove(`src/modules/${folder}`);
          copy.remove(`test/support/resources/${folder}.ts`);
          const line = new RegExp(`^.*'\\./modules/${folder}/.*$\\n`, 'm');
          const module = /import \{ (\w+) \}/.exec(line.exec(appModule)?.[0] ?? '')?.[1];
          expect(module, folder).toBeDefined();
          appModule = appModule.replace(line, '').replace(new RegExp(`^ {4}${module},\\n`, 'm'), '');
        }
        copy.write('src/app.module.ts', appModule);
        expect(await copy.buildAndCheck(['src/app.module.ts'])).toBeUndefined();

        const database = await createTestDatabase(`trim_${trim.name}`);
        const service = await startService({ DATABASE_URL: database.url, LOG_LEVEL: 'warn' }, 30_000, {
          main: copy.path('dist/main.js'),
        });
        try {
          for (const spec of trim.remaining) {
            const created = await fetch(`${service.url}${spec.path}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(spec.valid(1, {})),
            });
            expect(created.status, `${spec.name}: ${await created.clone().text()}`).toBe(201);
            const { id } = (await created.json()) as { id: string };
            expect((await fetch(`${service.url}${spec.path}/${id}`)).status).toBe(200);
          }
          // The served document is the routes there are: none of the feature's is left.
          const document = (await (await fetch(`${service.url}/docs-json`)).json()) as {
            paths: Record<string, unknown>;
          };
          const paths = Object.keys(document.paths);
          for (const spec of trim.remaining) expect(paths).toContain(spec.path);
          for (const gone of trim.gone) expect(paths.filter((path) => path.startsWith(gone))).toEqual([]);
        } finally {
          await service.stop();
          await database.drop();
        }
      } finally {
        copy.delete();
      }
    },
    180_000,
  );
});
