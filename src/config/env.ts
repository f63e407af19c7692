import { z } from 'zod';

/** The raw environment: only files in src/config/ may read process.env. */
export type RawEnv = Record<string, string | undefined>;

/** An empty variable (`REDIS_URL=`) means the same as an unset one. */
export function normaliseEnv(env: NodeJS.ProcessEnv): RawEnv {
  const out: RawEnv = {};
  for (const [key, value] of Object.entries(env)) {
    out[key] = value === undefined || value.trim() === '' ? undefined : value.trim();
  }
  return out;
}

export function currentEnv(): RawEnv {
  return normaliseEnv(process.env);
}

/** One problem with one environment variable, phrased for the person starting the service. */
export interface EnvProblem {
  variable: string;
  expected: string;
}

export class InvalidEnvironmentError extends Error {
  constructor(readonly problems: EnvProblem[]) {
    super('Invalid environment configuration:\n' + problems.map((p) => `  - ${p.variable}: ${p.expected}`).join('\n'));
    this.name = 'InvalidEnvironmentError';
  }
}

export function problemsOf(error: z.ZodError): EnvProblem[] {
  return error.issues.map((issue) => ({
    variable: String(issue.path[0] ?? '(environment)'),
    expected: issue.message,
  }));
}

/** Parses one namespace's variables; values never appear in messages, as some are secrets. */
export function parseEnv<S extends z.ZodType>(schema: S, env: RawEnv = currentEnv()): z.output<S> {
  const result = schema.safeParse(env);
  if (!result.success) throw new InvalidEnvironmentError(problemsOf(result.error));
  return result.data;
}

// Field builders shared by the namespaces. Each carries the sentence a person reads when it is wrong.

export const int = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: `expected an integer from ${min} to ${max}` })
    .int({ error: `expected an integer from ${min} to ${max}` })
    .min(min, { error: `expected an integer from ${min} to ${max}` })
    .max(max, { error: `expected an integer from ${min} to ${max}` })
    .default(fallback);

export const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'], { error: 'expected true or false' })
    .optional()
    .transform((v) => (v === undefined ? fallback : v === 'true' || v === '1'));

export const url = (protocols: string[], what: string) =>
  z
    .string()
    .refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      { error: `expected ${what}` },
    )
    .optional();

export const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
