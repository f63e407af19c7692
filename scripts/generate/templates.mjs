// The files `npm run generate -- resource` writes, as functions of the parsed resource (fields.mjs).
// They follow src/modules/users/ line for line; prettier formats them afterwards.
// One file on purpose (about 700 lines): each template is short, and reading them in order, entity to
// controller, is how a reader checks that they still match users/.

const q = (value) => `'${String(value).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const list = (values) => `[${values.map(q).join(', ')}]`;
const valuesConst = (field) => `${field.column.toUpperCase()}_VALUES`;

/** The TypeScript type a field has in the entity and the create DTO. */
function tsType(field) {
  const base = { int: 'number', bool: 'boolean', timestamp: 'Date' }[field.type] ?? 'string';
  return field.optional ? `${base} | null` : base;
}

/** The type the API answers with (timestamps as ISO strings). */
function responseType(field) {
  const base = { int: 'number', bool: 'boolean' }[field.type] ?? 'string';
  return field.optional ? `${base} | null` : base;
}

/** A value that passes validation, for OpenAPI examples. */
export function exampleOf(field) {
  switch (field.type) {
    case 'text':
      return `Example ${field.name}`.slice(0, field.max);
    case 'email':
      return 'ada@example.com';
    case 'int':
      return field.min <= 1 && field.max >= 1 ? 1 : field.min;
    case 'bool':
      return true;
    case 'enum':
      return field.values[0];
    case 'ref':
      return '0b0e6b8c-3f4c-4d5e-9a6b-7c8d9e0f1a2b';
    case 'timestamp':
      return '2026-01-31T12:00:00.000Z';
  }
}

// ---------------------------------------------------------------- entity

export function entityFile({ names: n, fields }) {
  const indexes = [
    ...fields.filter((f) => f.unique).map((f) => `@Index('${n.table}_${f.column}_lower_uq', { synchronize: false })`),
    `@Index('${n.table}_created_at_id_idx', { synchronize: false })`,
  ];
  const uniqueComment = fields.some((f) => f.unique)
    ? `// Unique on lower(...): created by the migration, which TypeORM cannot express, hence synchronize: false.\n`
    : `// The paging index (created_at DESC, id DESC) is the migration's, hence synchronize: false.\n`;
  const columns = fields.map((f) => {
    const options = [];
    if (f.column !== f.name) options.push(`name: '${f.column}'`);
    options.push(
      {
        text: `type: 'varchar', length: ${f.max}`,
        email: `type: 'varchar', length: ${f.max}`,
        enum: `type: 'varchar', length: ${f.max}`,
        int: `type: 'integer'`,
        bool: `type: 'boolean'`,
        ref: `type: 'uuid'`,
        timestamp: `type: 'timestamptz', precision: 3`,
      }[f.type],
    );
    if (f.optional) options.push('nullable: true');
    const comment =
      f.type === 'ref' ? `  /** A ${f.target.words}'s id; the foreign key keeps it pointing at one. */\n` : '';
    return `${comment}  @Column({ ${options.join(', ')} })\n  ${f.name}!: ${tsType(f)};`;
  });
  return `import { Column, Entity, Index } from 'typeorm';
import { VersionedEntity } from '../../infra/database/index.js';

@Entity({ name: '${n.table}' })
${uniqueComment}${indexes.join('\n')}
export class ${n.Singular}Entity extends VersionedEntity {
${columns.join('\n\n')}
}
`;
}

// ---------------------------------------------------------------- DTOs

function dtoProperty(f, imports) {
  const lines = [];
  const schema = [];
  const description = [];
  const decorators = [];
  switch (f.type) {
    case 'text':
      schema.push(`example: ${q(exampleOf(f))}`, 'minLength: 1', `maxLength: ${f.max}`);
      description.push('Trimmed');
      decorators.push(`@IsText({ min: 1, max: ${f.max}, trim: true })`);
      imports.common.add('IsText');
      break;
    case 'email':
      schema.push(`example: 'ada@example.com'`, `format: 'email'`, 'maxLength: 254');
      description.push('Stored in lower case');
      decorators.push(
        `@Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))`,
        `// Decorators register bottom-up and validation stops at the first error: the type check goes last.`,
        `@IsEmail({ allow_display_name: false, allow_ip_domain: false }, { message: 'must be a valid email address' })`,
        `@IsText({ min: 3, max: 254 })`,
      );
      imports.transformer.add('Transform');
      imports.validator.add('IsEmail');
      imports.common.add('IsText');
      break;
    case 'int': {
      const message = `{ message: 'must be an integer from ${f.min} to ${f.max}' }`;
      schema.push(`type: 'integer'`, `example: ${exampleOf(f)}`, `minimum: ${f.min}`, `maximum: ${f.max}`);
      decorators.push(`@IsInt(${message})`, `@Min(${f.min}, ${message})`, `@Max(${f.max}, ${message})`);
      ['IsInt', 'Min', 'Max'].forEach((name) => imports.validator.add(name));
      break;
    }
    case 'bool':
      schema.push('type: Boolean');
      decorators.push(`@IsBoolean({ message: 'must be true or false' })`);
      imports.validator.add('IsBoolean');
      break;
    case 'enum':
      schema.push(`enum: ${valuesConst(f)}`, `example: ${q(f.values[0])}`);
      decorators.push(`@IsIn(${valuesConst(f)}, { message: 'must be one of ${f.values.join(', ')}' })`);
      imports.validator.add('IsIn');
      break;
    case 'ref':
      schema.push(`format: 'uuid'`, `example: ${q(exampleOf(f))}`);
      description.push(`The id of an existing ${f.target.words}`);
      decorators.push(`@IsUUID('all', { message: 'must be a UUID' })`);
      imports.validator.add('IsUUID');
      break;
    case 'timestamp':
      schema.push('type: String', `format: 'date-time'`, `example: ${q(exampleOf(f))}`);
      description.push('RFC 3339, with an offset');
      decorators.push('@IsTimestamp()');
      imports.common.add('IsTimestamp');
      break;
  }
  if (f.unique) description.push('unique, case-insensitively');
  if (f.optional) {
    if (!schema.some((part) => part.startsWith('type:')))
      schema.unshift(`type: ${f.type === 'int' ? "'integer'" : 'String'}`);
    schema.push('nullable: true');
    description.push('null when omitted');
  }
  if (description.length > 0) schema.push(`description: ${q(description.join('; '))}`);
  lines.push(`  @${f.optional ? 'ApiPropertyOptional' : 'ApiProperty'}({ ${schema.join(', ')} })`);
  if (f.optional) {
    lines.push('  @IsOptional()');
    imports.validator.add('IsOptional');
  }
  lines.push(...decorators.map((decorator) => `  ${decorator}`));
  lines.push(`  ${f.name}${f.optional ? '?' : '!'}: ${tsType(f)};`);
  return lines.join('\n');
}

function importLine(names, from) {
  return names.size === 0 ? '' : `import { ${[...names].sort().join(', ')} } from '${from}';\n`;
}

export function createDtoFile({ names: n, fields }) {
  const imports = { validator: new Set(), transformer: new Set(), common: new Set() };
  const properties = fields.map((f) => dtoProperty(f, imports));
  const swagger = new Set(fields.map((f) => (f.optional ? 'ApiPropertyOptional' : 'ApiProperty')));
  const enums = fields
    .filter((f) => f.type === 'enum')
    .map(
      (f) =>
        `/** The ${f.name} values, in the order the API documents them. */\nexport const ${valuesConst(f)} = ${list(f.values)};\n`,
    );
  return `${importLine(swagger, '@nestjs/swagger')}${importLine(imports.transformer, 'class-transformer')}${importLine(imports.validator, 'class-validator')}${importLine(imports.common, '../../../common/index.js')}
${enums.join('\n')}
export class Create${n.Singular}Dto {
${properties.join('\n\n')}
}
`;
}

export function updateDtoFile({ names: n, fields }) {
  const nullable = fields.filter((f) => f.optional).map((f) => f.name);
  const which =
    nullable.length > 0
      ? `\`null\` only where the field is optional (${nullable.join(', ')})`
      : 'none of them is nullable';
  return `import { PartialType } from '@nestjs/swagger';
import { Create${n.Singular}Dto } from './create-${n.singular}.dto.js';

/** Any subset of the writable fields; ${which}. */
export class Update${n.Singular}Dto extends PartialType(Create${n.Singular}Dto, { skipNullProperties: false }) {}
`;
}

function responseProperty(f) {
  const schema = [];
  if (f.optional) schema.push(`type: ${f.type === 'int' ? "'integer'" : f.type === 'bool' ? 'Boolean' : 'String'}`);
  else if (f.type === 'int') schema.push(`type: 'integer'`);
  if (f.type === 'email') schema.push(`format: 'email'`);
  if (f.type === 'ref') schema.push(`format: 'uuid'`);
  if (f.type === 'timestamp') schema.push(`format: 'date-time'`);
  if (f.type === 'enum') schema.push(`enum: ${valuesConst(f)}`);
  if (f.optional) schema.push('nullable: true');
  return `  @ApiProperty(${schema.length ? `{ ${schema.join(', ')} }` : ''}) ${f.name}!: ${responseType(f)};`;
}

function toResponseValue(f, variable) {
  const value = `${variable}.${f.name}`;
  if (f.type === 'timestamp') return f.optional ? `${value}?.toISOString() ?? null` : `${value}.toISOString()`;
  return f.optional ? `${value} ?? null` : value;
}

export function responseDtoFile({ names: n, fields }) {
  const enums = fields.filter((f) => f.type === 'enum').map(valuesConst);
  const enumImport = enums.length ? `import { ${enums.join(', ')} } from './create-${n.singular}.dto.js';\n` : '';
  const v = n.singularCamel;
  return `import { ApiProperty } from '@nestjs/swagger';
import type { ${n.Singular}Entity } from '../${n.singular}.entity.js';
${enumImport}
/** A ${n.words} as the API returns it: exactly these fields. */
export class ${n.Singular}ResponseDto {
  @ApiProperty({ format: 'uuid', readOnly: true }) id!: string;
${fields.map(responseProperty).join('\n')}
  @ApiProperty({ type: 'integer', minimum: 1, readOnly: true, description: 'Increases on every write; the ETag' })
  version!: number;
  @ApiProperty({ format: 'date-time', readOnly: true }) createdAt!: string;
  @ApiProperty({ format: 'date-time', readOnly: true }) updatedAt!: string;
}

export class ${n.Singular}PageDto {
  @ApiProperty({ type: [${n.Singular}ResponseDto] }) items!: ${n.Singular}ResponseDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export function to${n.Singular}Response(${v}: ${n.Singular}Entity): ${n.Singular}ResponseDto {
  return {
    id: ${v}.id,
${fields.map((f) => `    ${f.name}: ${toResponseValue(f, v)},`).join('\n')}
    version: ${v}.version,
    createdAt: ${v}.createdAt.toISOString(),
    updatedAt: ${v}.updatedAt.toISOString(),
  };
}
`;
}

// ---------------------------------------------------------------- cache, events, repository

export function cacheFile({ names: n }) {
  return `import type { FastifyRequest } from 'fastify';
import { canonicalQuery, pageKeyFields } from '../../infra/cache/index.js';
import { isUuid } from '../../infra/http/index.js';
import type { PageQueryDto } from '../../infra/http/index.js';

/** Every list page of ${n.words}s carries this tag; any ${n.words} write invalidates them all. */
export const ${n.PLURAL}_TAG = '${n.plural}';

/** One ${n.words}'s entry. Ids are lower-cased as the UUID pipe does, so \`ABC…\` and \`abc…\` share it. */
export const ${n.singularCamel}Key = (id: string): string => \`${n.singular}:\${id.toLowerCase()}\`;

/** The get-by-id route's key; undefined for an id the UUID pipe refuses (that 400 never consults the cache). */
export const ${n.singularCamel}KeyOf = (request: FastifyRequest): string | undefined => {
  const { id } = request.params as { id: string };
  return isUuid(id) ? ${n.singularCamel}Key(id) : undefined;
};

/** A list page's key, from the validated query: every spelling of one query is one entry. */
export const ${n.singularCamel}ListKeyOf = (_request: FastifyRequest, query: PageQueryDto): string | undefined => {
  const page = pageKeyFields(query);
  return page === undefined ? undefined : \`${n.plural}:list:\${canonicalQuery(page)}\`;
};
`;
}

export function eventsFile({ names: n }) {
  return `import type { CachedAggregate } from '../../infra/cache/index.js';
import { eventType } from '../../infra/outbox/index.js';
import type { ${n.Singular}ResponseDto } from './dto/${n.singular}-response.dto.js';
import { ${n.PLURAL}_TAG, ${n.singularCamel}Key } from './${n.plural}.cache.js';

/**
 * The ${n.words} aggregate, the one descriptor its writes emit (\`tx.emit(${n.singularCamel}Aggregate, kind, ${n.singularCamel})\`)
 * and the module declares (\`OutboxModule.forFeature\`, \`CacheModule.forFeature\`): after each commit
 * the cache stores the new state (or a tombstone) under its key, and the lists are invalidated.
 */
export const ${n.singularCamel}Aggregate: CachedAggregate<${n.Singular}ResponseDto, '${n.singular}'> = {
  type: '${n.singular}',
  cache: { key: ${n.singularCamel}Key, tags: [${n.PLURAL}_TAG], notFound: '${n.Singular.replace(/([a-z])([A-Z])/g, '$1 $2')} not found' },
};

/** The event types ${n.words}s emit, as webhooks and subscribers see them. */
export const ${n.Singular}Event = {
  Created: eventType(${n.singularCamel}Aggregate, 'created'),
  Updated: eventType(${n.singularCamel}Aggregate, 'updated'),
  Deleted: eventType(${n.singularCamel}Aggregate, 'deleted'),
} as const;
export type ${n.Singular}Event = (typeof ${n.Singular}Event)[keyof typeof ${n.Singular}Event];
`;
}

export function repositoryFile({ names: n }) {
  return `import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { VersionedRepository } from '../../infra/database/index.js';
import { ${n.Singular}Entity } from './${n.singular}.entity.js';

@Injectable()
export class ${n.Plural}Repository extends VersionedRepository<${n.Singular}Entity> {
  constructor(@InjectDataSource() dataSource: DataSource) {
    super(dataSource, ${n.Singular}Entity);
  }
}
`;
}

// ---------------------------------------------------------------- service, controller, module

export function serviceFile({ names: n, fields }) {
  const conflicts = fields.filter((f) => f.unique).map((f) => `${n.table}_${f.column}_lower_uq: '${f.name}'`);
  const references = fields.filter((f) => f.type === 'ref').map((f) => `${n.table}_${f.column}_fkey: '${f.name}'`);
  const constraints = [
    conflicts.length ? `conflicts: { ${conflicts.join(', ')} }` : '',
    references.length ? `references: { ${references.join(', ')} }` : '',
  ].filter(Boolean);
  const Entity = n.Singular;
  const v = n.singularCamel;
  const repo = n.pluralCamel;
  const title = n.Singular.replace(/([a-z])([A-Z])/g, '$1 $2');
  // Without a unique field or a reference no constraint is the client's to break: no mapping.
  const guarded = (body) =>
    constraints.length
      ? `    try {\n      ${body}\n    } catch (error) {\n      rethrowWriteError(error, '${n.aWords}', CONSTRAINTS);\n    }`
      : `    ${body.replace(/\n {2}/g, '\n')}`;
  return `import { Injectable } from '@nestjs/common';
import type { Page } from '../../infra/database/index.js';
import {
  DEFAULT_PAGE_SIZE,
  entityOrFail,
  notFound,
  type PageQueryDto,
  preconditionFailed,${constraints.length ? '\n  rethrowWriteError,\n  type WriteConstraints,' : ''}
} from '../../infra/http/index.js';
import { UnitOfWork } from '../../infra/outbox/index.js';
import type { Create${Entity}Dto } from './dto/create-${n.singular}.dto.js';
import { to${Entity}Response, type ${Entity}ResponseDto } from './dto/${n.singular}-response.dto.js';
import type { Update${Entity}Dto } from './dto/update-${n.singular}.dto.js';
import { ${v}Aggregate } from './${n.singular}.events.js';
import { ${n.Plural}Repository } from './${n.plural}.repository.js';

${
  constraints.length
    ? `/** The constraints whose violations are the client's mistake, named by the field they concern. */
const CONSTRAINTS: WriteConstraints = { ${constraints.join(', ')} };
`
    : ''
}
@Injectable()
export class ${n.Plural}Service {
  constructor(
    private readonly ${repo}: ${n.Plural}Repository,
    private readonly unitOfWork: UnitOfWork,
  ) {}

  async get(id: string): Promise<${Entity}ResponseDto> {
    const ${v} = await this.${repo}.findById(id);
    if (!${v}) throw notFound('${n.Singular.replace(/([a-z])([A-Z])/g, '$1 $2')}');
    return to${Entity}Response(${v});
  }

  async list(query: PageQueryDto): Promise<Page<${Entity}ResponseDto>> {
    const page = await this.${repo}.page({ limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor });
    return { items: page.items.map(to${Entity}Response), nextCursor: page.nextCursor };
  }

  async create(input: Create${Entity}Dto): Promise<${Entity}ResponseDto> {
${guarded(`return await this.unitOfWork.run(async (tx) => {
        const ${v} = to${Entity}Response(await this.${repo}.insert(tx.manager, input));
        tx.emit(${v}Aggregate, 'created', ${v});
        return ${v};
      });`)}
  }

  /** \`expectedVersions\` comes from If-Match: the update applies only to one of those versions. */
  async update(id: string, changes: Update${Entity}Dto, expectedVersions?: number[]): Promise<${Entity}ResponseDto> {
    if (Object.keys(changes).length === 0) return this.unchanged(id, expectedVersions);
${guarded(`return await this.unitOfWork.run(async (tx) => {
        const outcome = await this.${repo}.update(tx.manager, id, changes, expectedVersions);
        const ${v} = to${Entity}Response(entityOrFail(outcome, '${title}'));
        tx.emit(${v}Aggregate, 'updated', ${v});
        return ${v};
      });`)}
  }

  async remove(id: string, expectedVersions?: number[]): Promise<void> {
    await this.unitOfWork.run(async (tx) => {
      const outcome = await this.${repo}.delete(tx.manager, id, expectedVersions);
      tx.emit(${v}Aggregate, 'deleted', to${Entity}Response(entityOrFail(outcome, '${n.Singular.replace(/([a-z])([A-Z])/g, '$1 $2')}')));
    });
  }

  /** An empty PATCH changes nothing (no new version, no event) but still honours If-Match. */
  private async unchanged(id: string, expectedVersions?: number[]): Promise<${Entity}ResponseDto> {
    const ${v} = await this.get(id);
    if (expectedVersions && !expectedVersions.includes(${v}.version)) throw preconditionFailed();
    return ${v};
  }
}
`;
}

export function controllerFile({ names: n, fields }, patchExample) {
  const E = n.Singular;
  const v = n.singularCamel;
  const errors = fields.some((f) => f.unique) ? '400, 409, 413, 415' : '400, 413, 415';
  const patchErrors = fields.some((f) => f.unique) ? '400, 404, 409, 412, 413, 415' : '400, 404, 412, 413, 415';
  return `import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Cached } from '../../infra/cache/index.js';
import type { Page } from '../../infra/database/index.js';
import { Idempotent } from '../../infra/idempotency/index.js';
import {
  etagOf,
  writePreconditions,
  ParseUuidPipe,
  ApiCachedRead,
  ApiIfMatch,
  ApiKeyProtected,
  ApiPatchBody,
  ApiProblemResponses,
  ResponseHeaders,
  PageQueryDto,
} from '../../infra/http/index.js';
import { Create${E}Dto } from './dto/create-${n.singular}.dto.js';
import { ${E}PageDto, ${E}ResponseDto } from './dto/${n.singular}-response.dto.js';
import { Update${E}Dto } from './dto/update-${n.singular}.dto.js';
import { ${n.PLURAL}_TAG, ${v}KeyOf, ${v}ListKeyOf } from './${n.plural}.cache.js';
import { ${n.Plural}Service } from './${n.plural}.service.js';

@ApiTags('${n.plural}')
@Controller({ path: '${n.plural}', version: '1' })
export class ${n.Plural}Controller {
  constructor(private readonly ${n.pluralCamel}: ${n.Plural}Service) {}

  @Post()
  @Idempotent()
  @ApiOperation({ summary: 'Create a ${n.words}' })
  @ApiCreatedResponse({
    type: ${E}ResponseDto,
    headers: { Location: ResponseHeaders.location, ETag: ResponseHeaders.etag },
  })
  @ApiProblemResponses(${errors})
  @ApiKeyProtected()
  async create(
    @Body() body: Create${E}Dto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<${E}ResponseDto> {
    const ${v} = await this.${n.pluralCamel}.create(body);
    void reply.header('location', \`/v1/${n.plural}/\${${v}.id}\`).header('etag', etagOf(${v}.version));
    return ${v};
  }

  @Get()
  @ApiOperation({ summary: 'List ${n.words}s, newest first' })
  @ApiCachedRead(${E}PageDto)
  @ApiProblemResponses(400)
  @Cached({ query: PageQueryDto, key: ${v}ListKeyOf, tags: [${n.PLURAL}_TAG], name: '${n.plural}:list' })
  list(@Query() query: PageQueryDto): Promise<Page<${E}ResponseDto>> {
    return this.${n.pluralCamel}.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a ${n.words}' })
  @ApiCachedRead(${E}ResponseDto)
  @ApiProblemResponses(400, 404)
  // ETag, If-None-Match (304) and Cache-Status are the cache interceptor's, on hits and misses alike.
  @Cached({ key: ${v}KeyOf, name: '${n.singular}' })
  get(@Param('id', ParseUuidPipe) id: string): Promise<${E}ResponseDto> {
    return this.${n.pluralCamel}.get(id);
  }

  @Patch(':id')
  @Idempotent()
  @ApiOperation({ summary: "Update any subset of a ${n.words}'s writable fields" })
  @ApiPatchBody(Update${E}Dto, ${JSON.stringify(patchExample)
    .replace(/"([a-zA-Z0-9]+)":/g, '$1: ')
    .replace(/"/g, "'")})
  @ApiIfMatch()
  @ApiOkResponse({ type: ${E}ResponseDto, headers: { ETag: ResponseHeaders.etag } })
  @ApiProblemResponses(${patchErrors})
  @ApiKeyProtected()
  async update(
    @Param('id', ParseUuidPipe) id: string,
    @Body() body: Update${E}Dto,
    @Headers('if-match') ifMatch: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<${E}ResponseDto> {
    const ${v} = await this.${n.pluralCamel}.update(id, body, writePreconditions(ifMatch, ifNoneMatch));
    void reply.header('etag', etagOf(${v}.version));
    return ${v};
  }

  @Delete(':id')
  @Idempotent()
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a ${n.words}' })
  @ApiIfMatch()
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblemResponses(400, 404, 412)
  @ApiKeyProtected()
  async remove(
    @Param('id', ParseUuidPipe) id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
  ): Promise<void> {
    await this.${n.pluralCamel}.remove(id, writePreconditions(ifMatch, ifNoneMatch));
  }
}
`;
}

export function moduleFile({ names: n }) {
  return `import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CacheModule } from '../../infra/cache/index.js';
import { OutboxModule } from '../../infra/outbox/index.js';
import { ${n.singularCamel}Aggregate } from './${n.singular}.events.js';
import { ${n.Singular}Entity } from './${n.singular}.entity.js';
import { ${n.Plural}Controller } from './${n.plural}.controller.js';
import { ${n.Plural}Repository } from './${n.plural}.repository.js';
import { ${n.Plural}Service } from './${n.plural}.service.js';

@Module({
  imports: [
    TypeOrmModule.forFeature([${n.Singular}Entity]),
    OutboxModule.forFeature(${n.singularCamel}Aggregate),
    CacheModule.forFeature(${n.singularCamel}Aggregate),
  ],
  controllers: [${n.Plural}Controller],
  providers: [${n.Plural}Repository, ${n.Plural}Service],
  exports: [${n.Plural}Service],
})
export class ${n.Plural}Module {}
`;
}

// ---------------------------------------------------------------- migration

export function migrationFile({ names: n, fields }, timestamp) {
  const className = `${n.Plural}${timestamp}`;
  const columnSql = fields.map((f) => {
    const type = {
      text: `varchar(${f.max})`,
      email: 'varchar(254)',
      enum: `varchar(${f.max})`,
      int: 'integer',
      bool: 'boolean',
      ref: 'uuid',
      timestamp: 'timestamptz(3)',
    }[f.type];
    const checks = {
      text: `CHECK (char_length("${f.column}") >= 1)`,
      email: `CHECK (char_length("${f.column}") >= 3)`,
      int: `CHECK ("${f.column}" BETWEEN ${f.min} AND ${f.max})`,
      enum: `CHECK ("${f.column}" IN (${f.values?.map((value) => `'${value}'`).join(', ')}))`,
    }[f.type];
    return `        "${f.column}" ${type}${f.optional ? '' : ' NOT NULL'}${checks ? ` ${checks}` : ''},`;
  });
  const constraints = fields
    .filter((f) => f.type === 'ref')
    .map(
      (f) =>
        `,\n        CONSTRAINT "${n.table}_${f.column}_fkey" FOREIGN KEY ("${f.column}") REFERENCES "${f.target.table}" ("id")`,
    );
  const indexes = [
    ...fields
      .filter((f) => f.unique)
      .map((f) => `CREATE UNIQUE INDEX "${n.table}_${f.column}_lower_uq" ON "${n.table}" (lower("${f.column}"))`),
    `CREATE INDEX "${n.table}_created_at_id_idx" ON "${n.table}" ("created_at" DESC, "id" DESC)`,
    // A foreign key's column gets an index, or deleting the referenced row scans this table.
    ...fields
      .filter((f) => f.type === 'ref')
      .map((f) => `CREATE INDEX "${n.table}_${f.column}_idx" ON "${n.table}" ("${f.column}")`),
  ];
  return `import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The ${n.table} table (npm run generate -- resource ${n.plural} …). */
export class ${className} implements MigrationInterface {
  name = '${className}';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(\`
      CREATE TABLE "${n.table}" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
${columnSql.join('\n')}
        "version" integer NOT NULL DEFAULT 1,
        "created_at" timestamptz(3) NOT NULL DEFAULT now(),
        "updated_at" timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT "${n.table}_pkey" PRIMARY KEY ("id")${constraints.join('')}
      )\`);
${indexes.map((sql) => `    await queryRunner.query(\`${sql}\`);`).join('\n')}
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(\`DROP TABLE "${n.table}"\`);
  }
}
`;
}

// ---------------------------------------------------------------- contract suite entry

/** A create-body value for `n`, unique per `n` where the field is unique. */
function specValue(f) {
  switch (f.type) {
    case 'text':
      return f.unique ? `\`Ref-\${n}\`.slice(-${f.max})` : `\`${f.name} \${n}\`.slice(0, ${f.max})`;
    case 'email':
      return `\`${f.name}-\${n}@example.com\``;
    case 'int':
      return `${f.min} + (n % ${Math.min(f.max - f.min + 1, 1_000_000)})`;
    case 'bool':
      return 'n % 2 === 0';
    case 'enum':
      return `${list(f.values)}[n % ${f.values.length}]`;
    case 'ref':
      return `setup.${f.name}`;
    case 'timestamp':
      return `new Date(Date.UTC(2026, 0, 1) + n * 60_000).toISOString()`;
  }
}

function invalidValues(f) {
  switch (f.type) {
    case 'text':
      return [`''`, `'x'.repeat(${f.max + 1})`];
    case 'email':
      return [`'not-an-email'`];
    case 'int':
      return [f.min > -2_147_483_648 ? `${f.min - 1}` : `${f.max + 1}`, '1.5', `'7'`];
    case 'bool':
      return [`'yes'`];
    case 'enum':
      return [`'not-${f.values[0]}'`];
    case 'ref':
      return [`'not-a-uuid'`];
    case 'timestamp':
      return [`'2026-02-30T00:00:00Z'`, `'2026-01-31'`];
  }
}

/** A valid PATCH for the contract suite and the OpenAPI example: the first field not a reference. */
export function patchOf(fields) {
  const f = fields.find((field) => field.type !== 'ref') ?? fields[0];
  const value = {
    text: `Changed`.slice(0, f.max),
    email: 'changed@example.com',
    int: f.max,
    bool: true,
    enum: f.values?.at(-1),
    ref: undefined,
    timestamp: '2030-01-01T00:00:00.000Z',
  }[f.type];
  return value === undefined ? {} : { [f.name]: value };
}

export function specFile({ names: n, fields }) {
  const refs = fields.filter((f) => f.type === 'ref');
  const unique = fields.find((f) => f.unique);
  const optional = fields.filter((f) => f.optional).map((f) => f.name);
  const imports = [...new Set(refs.map((f) => f.target.plural))].map(
    (plural) => `import { spec as ${namesCamel(plural)} } from './${plural}.js';\n`,
  );
  const setup = refs.length
    ? `  // The rows its references point at, created on each app the suite boots.
  setup: async (request) => ({
${refs.map((f) => `    ${f.name}: await createReferenced(request, ${namesCamel(f.target.plural)}),`).join('\n')}
  }),
`
    : '';
  const lines = [
    `  name: '${n.plural}',`,
    `  path: '/v1/${n.plural}',`,
    `  aggregate: '${n.singular}',`,
    setup.trimEnd(),
    `  valid: (n${refs.length ? ', setup' : ''}) => ({`,
    ...fields.map((f) => `    ${f.name}: ${specValue(f)},`),
    '  }),',
    `  fields: ${list(['id', ...fields.map((f) => f.name), 'version', 'createdAt', 'updatedAt'])},`,
    unique
      ? `  unique: { field: '${unique.name}', collide: (value) => value.toUpperCase() },`
      : '  // No unique field: the suite states that the 409 cases do not apply.',
    refs.length ? `  references: ${list(refs.map((f) => f.name))},` : '',
    optional.length ? `  optional: ${list(optional)},` : '',
    `  invalid: [`,
    ...fields.flatMap((f) => invalidValues(f).map((value) => `    ['${f.name}', ${value}],`)),
    `  ],`,
    `  patch: ${JSON.stringify(patchOf(fields))
      .replace(/"([a-zA-Z0-9]+)":/g, '$1: ')
      .replace(/"/g, "'")},`,
  ].filter(Boolean);
  const specImports = refs.length ? '{ createReferenced, type ResourceSpec }' : '{ type ResourceSpec }';
  return `import ${specImports} from '../resource-spec.js';
${imports.join('')}
export const spec: ResourceSpec = {
${lines.join('\n')}
};
`;
}

const namesCamel = (plural) => `${plural.replace(/-([a-z0-9])/g, (_m, letter) => letter.toUpperCase())}Spec`;
