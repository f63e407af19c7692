#!/usr/bin/env node
// What a new user waits for, measured on a fresh clone of the current commit (README, "How long things take"):
// `npm ci` (npm's own cache, as on any machine that installed before), `npm start` until /health/ready
// answers 200 (first start: no dist/, no .data/; then a second start), and `npm run migration:show`
// on a scratch database of the local PostgreSQL (TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432).
//
//   node scripts/measure-start.mjs [--runs 3] [--keep]
//
// Uncommitted changes are not measured: the clone is of HEAD.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '1' }, keep: { type: 'boolean', default: false } },
});
const repo = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
const serverUrl = new URL(process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');

const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

function run(command, commandArgs, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} ${commandArgs.join(' ')} exited ${code}\n${output}`)),
    );
  });
}

async function timed(label, fn) {
  const started = performance.now();
  await fn();
  const ms = performance.now() - started;
  console.log(`  ${label}: ${seconds(ms)}`);
  return ms;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * CPU seconds used so far by process group `group` (Linux /proc: each live member's own time plus
 * that of the children it waited for, such as the build). Less at the mercy of the host's load than
 * the wall time.
 */
function groupCpuSeconds(group) {
  let ticks = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name (which may hold spaces): state is field 3, pgrp field 5, utime..cstime 14-17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== group) continue;
    ticks += fields.slice(11, 15).reduce((sum, value) => sum + Number(value), 0);
  }
  return ticks / 100;
}

/** `npm start` in its own process group, until /health/ready says 200; then SIGTERM to the group. */
async function startUntilReady(cwd, env) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn('npm', ['start'], { cwd, env: { ...env, PORT: String(port) }, detached: true, stdio: 'pipe' });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let exitCode;
  void exited.then((code) => (exitCode = code));
  try {
    for (;;) {
      if (exitCode !== undefined) throw new Error(`npm start exited ${exitCode} before ready\n${output}`);
      const status = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
        (response) => response.status,
        () => 0,
      );
      if (status === 200) {
        const ms = performance.now() - started;
        console.log(`    (${groupCpuSeconds(child.pid).toFixed(2)} s of CPU)`);
        return ms;
      }
      await sleep(25);
    }
  } finally {
    process.kill(-child.pid, 'SIGTERM');
    await exited;
  }
}

async function measureOnce() {
  const dir = mkdtempSync(join(tmpdir(), 'measure-start-'));
  const database = `measure_start_${process.pid}_${Date.now()}`;
  const databaseUrl = new URL(serverUrl);
  databaseUrl.pathname = `/${database}`;
  // A bare machine: no DATABASE_URL or REDIS_URL, so the service starts on PGlite in ./.data.
  const env = { ...process.env, NODE_ENV: 'development', LOG_FORMAT: 'json' };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'DATA_DIR', 'API_KEYS', 'npm_config_prefix']) delete env[name];
  const connect = ['-h', serverUrl.hostname, '-p', serverUrl.port || '5432', '-U', serverUrl.username || 'postgres'];
  try {
    await run('git', ['clone', '--quiet', repo, dir]);
    await run('git', ['checkout', '--quiet', commit], { cwd: dir });
    const load = loadavg()[0].toFixed(2);
    const result = { load };
    result.npmCi = await timed('npm ci', () => run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, env }));
    result.firstStart = await timed('npm start → ready (first: build, new data dir)', () => startUntilReady(dir, env));
    result.secondStart = await timed('npm start → ready (second)', () => startUntilReady(dir, env));
    await run('createdb', [...connect, database]);
    try {
      result.migrationShow = await timed('npm run migration:show', () =>
        run('npm', ['run', 'migration:show'], { cwd: dir, env: { ...env, DATABASE_URL: databaseUrl.href } }),
      );
    } finally {
      await run('dropdb', [...connect, '--if-exists', database]);
    }
    return result;
  } finally {
    if (args.keep) console.log(`  kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `commit ${commit.slice(0, 10)}, node ${process.version}, ${cpus().length} cores, load ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')}`,
);
const results = [];
for (let i = 1; i <= Number(args.runs); i++) {
  console.log(`run ${i} (load ${loadavg()[0].toFixed(2)})`);
  results.push(await measureOnce());
}
const range = (key) => {
  const values = results.map((result) => result[key]);
  return results.length === 1
    ? seconds(values[0])
    : `${seconds(Math.min(...values))} – ${seconds(Math.max(...values))}`;
};
console.log(
  `\nnpm ci ${range('npmCi')}; first start ${range('firstStart')}; second start ${range('secondStart')}; ` +
    `migration:show ${range('migrationShow')} (1-min load at each run's start: ${results.map((r) => r.load).join(', ')})`,
);
