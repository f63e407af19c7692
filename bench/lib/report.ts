import { readFile, writeFile } from 'node:fs/promises';

/** One row of the result table. A scenario that could not run has `status: 'n/a'` and a reason, never a number. */
export interface ScenarioResult {
  id: string;
  label: string;
  status: 'ok' | 'n/a' | 'failed';
  reason?: string;
  /** What `rate` counts: req/s, ops/s, jobs/s; or the single figure a non-throughput scenario reports. */
  unit: 'req/s' | 'ops/s' | 'jobs/s' | 'reads/key' | 'ms';
  rate?: number;
  p50?: number | null;
  p99?: number | null;
  errors?: number;
  /** rate ÷ the matching ceiling's rate, from this run. */
  ceilingRatio?: number;
  /** rate ÷ the matching baseline's rate, from this run (Fastify and Express). */
  baselineRatio?: { fastify?: number; express?: number };
  /** Peak RSS (MiB) of the server process(es) during the scenario. */
  rssMb?: number;
  notes?: string[];
  details?: Record<string, unknown>;
}

export interface TargetCheck {
  target: string;
  measured: string;
  verdict: 'met' | 'missed' | 'n/a';
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  complete: boolean;
  machine: Record<string, string | number>;
  options: Record<string, unknown>;
  scenarios: ScenarioResult[];
  targets: TargetCheck[];
  notes: string[];
}

const fmt = (value: number | null | undefined, digits = 0): string =>
  value === undefined || value === null
    ? ''
    : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (value: number | undefined): string => (value === undefined ? '' : `${value.toFixed(2)}×`);

function rows(report: BenchReport): string[][] {
  const header = [
    'scenario',
    'value',
    'p50 ms',
    'p99 ms',
    'errors',
    '÷ ceiling',
    '÷ base Fastify',
    '÷ base Express',
    'RSS MiB',
  ];
  const body = report.scenarios.map((s) =>
    s.status !== 'ok'
      ? [s.label, s.status, '', '', '', '', '', '', '']
      : [
          s.label,
          `${fmt(s.rate, s.unit === 'reads/key' || s.unit === 'ms' ? 2 : 0)} ${s.unit}`,
          fmt(s.p50, 2),
          fmt(s.p99, 2),
          fmt(s.errors),
          ratio(s.ceilingRatio),
          ratio(s.baselineRatio?.fastify),
          ratio(s.baselineRatio?.express),
          fmt(s.rssMb, 0),
        ],
  );
  return [header, ...body];
}

/** The table printed to the terminal (fixed-width columns). */
export function textTable(report: BenchReport): string {
  const all = rows(report);
  const widths = all[0]!.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]): string =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const out = [line(all[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)];
  const remarks = rowRemarks(report);
  if (remarks.length > 0) out.push('', ...remarks.map((r) => `  ${r}`));
  out.push('', 'targets:');
  for (const t of report.targets) out.push(`  [${t.verdict.padEnd(6)}] ${t.target}: ${t.measured}`);
  if (report.notes.length > 0) out.push('', 'notes:', ...report.notes.map((n) => `  - ${n}`));
  return out.join('\n');
}

/** Why a row is n/a or failed, and what each row noticed (e.g. the Cache-Status it saw). */
function rowRemarks(report: BenchReport): string[] {
  const out: string[] = [];
  for (const s of report.scenarios) {
    const remarks = [...(s.reason ? [`${s.status}: ${s.reason}`] : []), ...(s.notes ?? [])];
    if (remarks.length > 0) out.push(`${s.label}: ${remarks.join('; ')}`);
  }
  return out;
}

/** The same table as Markdown, with the machine and the target checks, for docs/benchmarks.md. */
export function markdown(report: BenchReport): string {
  const all = rows(report);
  const esc = (cell: string): string => cell.replace(/\|/g, '\\|');
  const table = [
    `| ${all[0]!.join(' | ')} |`,
    `|${all[0]!.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...all.slice(1).map((row) => `| ${row.map(esc).join(' | ')} |`),
  ];
  const remarks = rowRemarks(report);
  const m = report.machine;
  return [
    `Run of ${report.finishedAt.slice(0, 16).replace('T', ' ')} UTC on ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB RAM, ${m.os}; ` +
      `Node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}. ` +
      `Options: ${Object.entries(report.options)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(', ')}.`,
    '',
    ...table,
    '',
    ...(remarks.length > 0 ? [...remarks.map((r) => `- ${esc(r)}`), ''] : []),
    '| target | measured | verdict |',
    '|---|---|---|',
    ...report.targets.map((t) => `| ${esc(t.target)} | ${esc(t.measured)} | ${t.verdict} |`),
    ...(report.notes.length > 0 ? ['', ...report.notes.map((n) => `- ${n}`)] : []),
  ].join('\n');
}

const START = '<!-- bench:last-result:start -->';
const END = '<!-- bench:last-result:end -->';

/** Replaces the generated section of the docs page (between the markers) with this run's result. */
export async function updateDocs(path: string, report: BenchReport): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return false;
  }
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from < 0 || to < from) return false;
  await writeFile(path, `${text.slice(0, from + START.length)}\n${markdown(report)}\n${text.slice(to)}`);
  return true;
}
