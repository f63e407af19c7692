import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = new URL('../../', import.meta.url).pathname;

/** What a copy needs to build, lint and run the contract suite: sources, settings, and the suite. */
const COPIED = [
  'src',
  'scripts',
  'test/support',
  'test/e2e/resources.e2e-spec.ts',
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  '.swcrc',
  '.prettierrc',
  'eslint.config.js',
  'vitest.config.ts',
];

/** The outcome of a command in a copy. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A small copy of this repository in a temporary directory, its node_modules a link to ours (no
 * install), for tests that change the source tree: the generator's, the trimming test.
 */
export class RepoCopy {
  private constructor(readonly root: string) {}

  static create(label: string): RepoCopy {
    const root = mkdtempSync(join(tmpdir(), `nest-template-${label}-`));
    for (const path of COPIED) cpSync(join(REPO, path), join(root, path), { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
    return new RepoCopy(root);
  }

  path(relative: string): string {
    return join(this.root, relative);
  }

  read(relative: string): string {
    return readFileSync(this.path(relative), 'utf8');
  }

  write(relative: string, text: string): void {
    writeFileSync(this.path(relative), text);
  }

  remove(relative: string): void {
    rmSync(this.path(relative), { recursive: true, force: true });
  }

  /** Runs a Node script of the copy (a tool from node_modules, or one of scripts/) with `args`; never throws on a failure. */
  async node(script: string, args: string[], env: Record<string, string> = {}): Promise<CommandResult> {
    // A nested vitest must not mistake itself for one of our workers.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
    try {
      const { stdout, stderr } = await run(process.execPath, [this.path(script), ...args], {
        cwd: this.root,
        env: { ...inherited, ...env },
        maxBuffer: 64 * 1024 * 1024,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return {
        code: typeof failed.code === 'number' ? failed.code : 1,
        stdout: failed.stdout ?? '',
        stderr: failed.stderr ?? '',
      };
    }
  }

  /** swc into dist/ (as `npm run build`), then tsc and the cycle check; the first failure's output, or undefined. */
  async buildAndCheck(lintFiles: string[]): Promise<string | undefined> {
    const steps: Array<[string, string[]]> = [
      [
        'node_modules/@swc/cli/bin/swc.js',
        ['src', '--strip-leading-paths', '--ignore', '**/*.spec.ts', '-q', '-d', 'dist', '--delete-dir-on-start'],
      ],
      ['node_modules/typescript/bin/tsc', ['--noEmit', '-p', 'tsconfig.json']],
      ['node_modules/eslint/bin/eslint.js', ['--max-warnings', '0', ...lintFiles]],
      ['scripts/check-import-cycles.mjs', []],
    ];
    for (const [script, args] of steps) {
      const result = await this.node(script, args);
      if (result.code !== 0)
        return `${script} ${args.join(' ')} failed (${result.code}):\n${result.stdout}\n${result.stderr}`;
    }
    return undefined;
  }

  delete(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
