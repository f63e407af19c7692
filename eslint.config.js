import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/', '.data/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**/*.ts', '**/*.spec.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
  // Module boundaries in src/ (README, "Conventions"): another module is reached only through its
  // index.ts, and layers never import upward. The patterns match the import text, so there is one
  // block per folder depth; specs (like test/) may import any file. Import cycles are found by
  // scripts/check-import-cycles.mjs (npm run lint:cycles).
  boundaries('src/*.ts', [deepImport(/^\.\/(infra\/[^/]+|common|config)\/(?!index\.js$)/)]),
  boundaries('src/common/**/*.ts', [upward(/^\.\.\//, 'src/common imports nothing else in src/')]),
  boundaries('src/config/**/*.ts', [
    upward(/^\.\.\/(?!common\/)/, 'src/config may import src/common only'),
    deepImport(/^\.\.\/common\/(?!index\.js$)/),
  ]),
  boundaries('src/infra/*/*.ts', [
    upward(/^(\.\.\/){2}modules\//, 'infra never imports a feature module'),
    deepImport(/^\.\.\/[^./][^/]*\/(?!index\.js$)/),
    deepImport(/^(\.\.\/){2}(common|config)\/(?!index\.js$)/),
  ]),
  boundaries('src/infra/*/*/*.ts', [
    upward(/^(\.\.\/){3}modules\//, 'infra never imports a feature module'),
    deepImport(/^(\.\.\/){2}[^./][^/]*\/(?!index\.js$)/),
    deepImport(/^(\.\.\/){3}(common|config)\/(?!index\.js$)/),
  ]),
  boundaries('src/modules/**/*.ts', [
    deepImport(/^(\.\.\/)+infra\/[^/]+\/(?!index\.js$)/),
    deepImport(/^(\.\.\/)+(common|config)\/(?!index\.js$)/),
  ]),
);

/** One `no-restricted-imports` block for the non-spec files of `files`. */
function boundaries(files, patterns) {
  return { files: [files], ignores: ['**/*.spec.ts'], rules: { 'no-restricted-imports': ['error', { patterns }] } };
}

function deepImport(regex) {
  return {
    regex: regex.source,
    message: "Import another module through its public entry ('<module>/index.js'), not one of its files.",
  };
}

function upward(regex, message) {
  return { regex: regex.source, message: `Layers import downward only: ${message}.` };
}
