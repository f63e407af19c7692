#!/usr/bin/env node
// `npm run generate -- resource <plural-name> <field>:<type>[:<option>…] …`: writes a feature module
// in this project's style (src/modules/<plural>/), its migration, its contract-suite entry
// (test/support/resources/<plural>.ts), and registers the module and the migration. Every
// argument is checked first: on a bad one it prints why and writes nothing.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { GeneratorError, parseResource, USAGE } from './fields.mjs';
import * as templates from './templates.mjs';

/** The repository the files go into: this script's, or GENERATE_ROOT (the generator's own test uses a copy). */
const root = process.env.GENERATE_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const at = (...parts) => join(root, ...parts);

/** Timestamp of the new migration: now, or just after the newest one if the clock is behind it. */
function migrationTimestamp() {
  const existing = readdirSync(at('src/infra/database/migrations'))
    .map((file) => /^(\d{13})-/.exec(file)?.[1])
    .filter(Boolean)
    .map(Number);
  return Math.max(Date.now(), ...existing.map((stamp) => stamp + 1));
}

/** Inserts `line` after the last line matching `after` (a registration list stays in order). */
function insertAfterLast(text, after, line, file) {
  const lines = text.split('\n');
  const index = lines.findLastIndex((candidate) => after.test(candidate));
  if (index < 0) throw new GeneratorError(`${file}: found no line matching ${after}, so cannot register the resource`);
  lines.splice(index + 1, 0, line);
  return lines.join('\n');
}

function plan(resource) {
  const n = resource.names;
  const folder = `src/modules/${n.plural}`;
  const timestamp = migrationTimestamp();
  const migration = `${timestamp}-${n.plural}`;
  const patch = templates.patchOf(resource.fields);
  const files = {
    [`${folder}/${n.singular}.entity.ts`]: templates.entityFile(resource),
    [`${folder}/${n.singular}.events.ts`]: templates.eventsFile(resource),
    [`${folder}/${n.plural}.cache.ts`]: templates.cacheFile(resource),
    [`${folder}/${n.plural}.repository.ts`]: templates.repositoryFile(resource),
    [`${folder}/${n.plural}.service.ts`]: templates.serviceFile(resource),
    [`${folder}/${n.plural}.controller.ts`]: templates.controllerFile(resource, patch),
    [`${folder}/${n.plural}.module.ts`]: templates.moduleFile(resource),
    [`${folder}/dto/create-${n.singular}.dto.ts`]: templates.createDtoFile(resource),
    [`${folder}/dto/update-${n.singular}.dto.ts`]: templates.updateDtoFile(resource),
    [`${folder}/dto/${n.singular}-response.dto.ts`]: templates.responseDtoFile(resource),
    [`src/infra/database/migrations/${migration}.ts`]: templates.migrationFile(resource, timestamp),
    [`test/support/resources/${n.plural}.ts`]: templates.specFile(resource),
  };
  for (const file of Object.keys(files)) {
    if (existsSync(at(file))) throw new GeneratorError(`${file} already exists`);
  }

  const appModule = 'src/app.module.ts';
  let app = readFileSync(at(appModule), 'utf8');
  app = insertAfterLast(
    app,
    /^import .* from '\.\/modules\//,
    `import { ${n.Plural}Module } from './modules/${n.plural}/${n.plural}.module.js';`,
    appModule,
  );
  app = insertAfterLast(app, /^ {4}[A-Z]\w*Module,$/, `    ${n.Plural}Module,`, appModule);

  const migrationsIndex = 'src/infra/database/migrations/index.ts';
  let migrations = readFileSync(at(migrationsIndex), 'utf8');
  migrations = insertAfterLast(
    migrations,
    /^import /,
    `import { ${n.Plural}${timestamp} } from './${migration}.js';`,
    migrationsIndex,
  );
  migrations = insertAfterLast(migrations, /^ {2}\w+\d{13},$/, `  ${n.Plural}${timestamp},`, migrationsIndex);

  return { ...files, [appModule]: app, [migrationsIndex]: migrations };
}

async function main(argv) {
  const [command, ...args] = argv;
  if (command !== 'resource')
    throw new GeneratorError(command ? `unknown command "${command}"` : 'missing the command');
  const resourceExists = (plural) => existsSync(at('src/modules', plural));
  const files = plan(parseResource(args, resourceExists));
  // Format everything before writing anything: a template bug must not leave half a resource behind.
  const formatted = {};
  for (const [file, text] of Object.entries(files)) {
    const options = (await resolveConfig(at(file))) ?? {};
    formatted[file] = await format(text, { ...options, filepath: at(file) });
  }
  for (const [file, text] of Object.entries(formatted)) {
    mkdirSync(dirname(at(file)), { recursive: true });
    writeFileSync(at(file), text);
    console.log(`wrote ${relative(root, at(file))}`);
  }
  console.log('\nNext: npm run build && npm run migration:run (or start the app: it migrates at start-up).');
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof GeneratorError)) throw error;
  console.error(`generate: ${error.message}\n\n${USAGE}`);
  process.exitCode = 2;
}
