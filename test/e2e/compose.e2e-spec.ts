import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const ENV = {
  ...process.env,
  API_KEYS: 'demo:compose-check-0123456789',
  ADMIN_TOKEN: '',
  WEBHOOK_URLS: '',
  WEBHOOK_SECRET: '',
};

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  ports?: unknown[];
  profiles?: string[];
}

/**
 * `docker-compose config` checks the file offline (no Docker engine here): schema, interpolation,
 * references. Debian's docker-compose is Python and brings PyYAML, used to read its output.
 */
async function resolvedCompose(): Promise<{ services: Record<string, ComposeService> }> {
  const { stdout: yaml } = await run('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: ROOT, env: ENV });
  const toJson = run('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))']);
  toJson.child.stdin!.end(yaml);
  return JSON.parse((await toJson).stdout) as { services: Record<string, ComposeService> };
}

describe('docker-compose.yml', () => {
  it('is valid for docker-compose', async () => {
    const { stdout, stderr } = await run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: ROOT,
      env: ENV,
    });
    expect(stdout).toBe('');
    expect(stderr).not.toMatch(/error|invalid/i);
  });

  it('refuses to start without API_KEYS (production refuses open writes)', async () => {
    const { API_KEYS: _unset, ...env } = ENV;
    await expect(
      run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: ROOT, env }),
    ).rejects.toThrow(/API_KEYS/);
  });

  it('runs two API replicas behind nginx, a worker, postgres 16, redis 7 and mailpit, in dependency order', async () => {
    const { services } = await resolvedCompose();
    // jaeger: only with `--profile tracing` (docs/tracing.md).
    expect(Object.keys(services).sort()).toEqual([
      'api-1',
      'api-2',
      'jaeger',
      'mailpit',
      'nginx',
      'postgres',
      'redis',
      'worker',
    ]);
    expect(services.jaeger).toMatchObject({ profiles: ['tracing'] });

    for (const name of ['api-1', 'api-2']) {
      const api = services[name]!;
      expect(api.image).toBe('nest-service:latest');
      expect(api.environment).toMatchObject({ NODE_ENV: 'production', WORKERS: 'false', TRUST_PROXY: '1' });
      expect(api.environment!.DATABASE_URL).toMatch(/@postgres:5432\//);
      expect(api.environment!.REDIS_URL).toBe('redis://redis:6379');
      expect(api.depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      });
      // The image's HEALTHCHECK (/health/live) applies.
      expect(api.healthcheck).toBeUndefined();
    }
    expect(services.worker).toMatchObject({
      image: 'nest-service:latest',
      command: ['node', '--no-allocation-site-pretenuring', '--import', './dist/telemetry.js', 'dist/worker.js'],
      environment: { WORKERS: 'true', SMTP_URL: 'smtp://mailpit:1025' },
      depends_on: { mailpit: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } },
    });
    expect(services.nginx!.depends_on).toEqual({
      'api-1': { condition: 'service_healthy' },
      'api-2': { condition: 'service_healthy' },
    });
    expect(services.postgres!.image).toMatch(/^postgres:16/);
    expect(services.redis!.image).toMatch(/^redis:7/);
    expect(services.redis!.command!.join(' ')).toMatch(/--appendonly yes/);
    expect(services.redis!.command!.join(' ')).toMatch(/--maxmemory-policy noeviction/);
    for (const name of ['postgres', 'redis', 'mailpit', 'nginx']) {
      expect(services[name]!.healthcheck?.test, name).toBeDefined();
    }
  });

  it('has nginx balance over exactly the API services', async () => {
    const { services } = await resolvedCompose();
    const conf = readFileSync(join(ROOT, 'deploy', 'nginx.conf'), 'utf8');
    const upstreams = [...conf.matchAll(/^\s*server\s+([\w-]+):3000\b/gm)].map((m) => m[1]);
    expect(upstreams.sort()).toEqual(
      Object.keys(services)
        .filter((name) => name.startsWith('api-'))
        .sort(),
    );
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stages = [...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\w+)/gim)].map((m) => m[1]);

  it('builds in stages and ships production dependencies only', () => {
    expect(stages).toEqual(['build', 'deps', 'runtime']);
    const deps = dockerfile.slice(dockerfile.indexOf('AS deps'), dockerfile.indexOf('AS runtime'));
    expect(deps).toMatch(/RUN npm ci --omit=dev/);
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/COPY --from=deps .*\/app\/node_modules/);
    expect(runtime).toMatch(/COPY --from=build .*\/app\/dist/);
    expect(runtime).not.toMatch(/npm (ci|install)(?! --omit=dev)/);
  });

  it('runs as the node user in production mode, with a liveness healthcheck', () => {
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/NODE_ENV=production/);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n?.*\/health\/live/m);
    // The V8 flag NODE_OPTIONS refuses (docs/benchmarks.md, "The first instance").
    expect(runtime).toMatch(
      /^CMD \["node", "--no-allocation-site-pretenuring", "--import", "\.\/dist\/telemetry\.js", "dist\/main\.js"\]$/m,
    );
    // USER comes before the command, so nothing runs as root at runtime.
    expect(runtime.indexOf('USER node')).toBeLessThan(runtime.indexOf('CMD ['));
  });

  it('leaves local state and secrets out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.data', '.env', '.git']));
  });
});
