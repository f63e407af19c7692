import { readFileSync } from 'node:fs';

/** The parts of a V8 .cpuprofile this summary reads. */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Prints where a service instance spent its CPU (self time per function, and per package), from
 * a profile written by `npm run bench -- --profile`.
 * @example node bench/dist/bench/profile-summary.js bench/results/profiles/service-cached.cpuprofile 30 5
 */
function summarise(file: string, top: number, skipSeconds: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    elapsed += delta;
    // Skip start-up (module loading, migrations) when asked: the load is what matters.
    if (elapsed >= skipSeconds * 1e6) self.set(id, (self.get(id) ?? 0) + delta);
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const perFunction = new Map<string, number>();
  const perPackage = new Map<string, number>();
  for (const [id, micros] of self) {
    const frame = byId.get(id)!.callFrame;
    const where = frame.url
      .replace(/^file:\/\//, '')
      .replace(/^.*\/node_modules\//, '')
      .replace(/^.*\/bench\/dist\/service\//, 'service/');
    const key = `${frame.functionName || '(anonymous)'}  ${where}:${frame.lineNumber + 1}`;
    perFunction.set(key, (perFunction.get(key) ?? 0) + micros);
    const pkg =
      frame.url === ''
        ? frame.functionName || '(native)'
        : where.startsWith('service/')
          ? 'service'
          : where.startsWith('node:')
            ? 'node core'
            : where.startsWith('@')
              ? where.split('/').slice(0, 2).join('/')
              : where.split('/')[0]!;
    perPackage.set(pkg, (perPackage.get(pkg) ?? 0) + micros);
  }
  const print = (title: string, entries: Map<string, number>, count: number): void => {
    process.stdout.write(`\n${title}\n`);
    for (const [key, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, count)) {
      process.stdout.write(`${((micros / total) * 100).toFixed(1).padStart(5)}%  ${key}\n`);
    }
  };
  process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled\n`);
  print('self time by package', perPackage, 15);
  print('self time by function', perFunction, top);
}

const [file, top, skip] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/dist/bench/profile-summary.js <file.cpuprofile> [top=30] [skip-seconds=0]\n');
  process.exit(2);
}
summarise(file, Number(top ?? 30), Number(skip ?? 0));
