import {
  Brackets,
  type DataSource,
  type EntityManager,
  type EntityTarget,
  type FindOptionsWhere,
  type ObjectLiteral,
} from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm';
import { type Cursor, decodeCursor, encodeCursor } from './cursor.js';
import { entityFromRow } from './entity-from-row.js';
import type { VersionedEntity } from './versioned.entity.js';

/** The outcome of a conditional write: `version-mismatch` means the row exists but If-Match did not match. */
export type WriteOutcome<T> = { status: 'done'; entity: T } | { status: 'not-found' } | { status: 'version-mismatch' };

export interface PageRequest<T> {
  limit: number;
  cursor?: string;
  where?: Partial<Record<keyof T & string, unknown>>;
}

/**
 * Data access shared by versioned resources: one-round-trip writes (`RETURNING *`) that bump the
 * version atomically with the If-Match check, and keyset pagination newest first.
 * Writes take the transaction's manager; reads default to the pool.
 */
export class VersionedRepository<T extends VersionedEntity & ObjectLiteral> {
  constructor(
    protected readonly dataSource: DataSource,
    protected readonly target: EntityTarget<T>,
  ) {}

  findById(id: string, manager: EntityManager = this.dataSource.manager): Promise<T | null> {
    return manager.findOneBy(this.target, { id } as FindOptionsWhere<T>);
  }

  async insert(manager: EntityManager, values: QueryDeepPartialEntity<T>): Promise<T> {
    const result = await manager
      .createQueryBuilder()
      .insert()
      .into(this.target)
      .values(values)
      .returning('*')
      .updateEntity(false)
      .execute();
    return entityFromRow(manager, this.target, (result.raw as Record<string, unknown>[])[0]!);
  }

  /** Applies `changes` and bumps the version, only if the version is one of `expectedVersions` (when given). */
  async update(
    manager: EntityManager,
    id: string,
    changes: QueryDeepPartialEntity<T>,
    expectedVersions?: number[],
  ): Promise<WriteOutcome<T>> {
    const query = manager
      .createQueryBuilder()
      .update(this.target)
      .set({ ...changes, version: () => 'version + 1', updatedAt: () => 'now()' })
      .where('id = :id', { id });
    if (expectedVersions) query.andWhere('version = ANY(:expectedVersions)', { expectedVersions });
    const result = await query.returning('*').updateEntity(false).execute();
    return this.outcome(manager, id, result.raw as Record<string, unknown>[]);
  }

  async delete(manager: EntityManager, id: string, expectedVersions?: number[]): Promise<WriteOutcome<T>> {
    const query = manager.createQueryBuilder().delete().from(this.target).where('id = :id', { id });
    if (expectedVersions) query.andWhere('version = ANY(:expectedVersions)', { expectedVersions });
    const result = await query.returning('*').execute();
    return this.outcome(manager, id, result.raw as Record<string, unknown>[]);
  }

  /** One page, newest first, and the cursor of the next one (null on the last page). */
  async page(
    request: PageRequest<T>,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<{ items: T[]; nextCursor: string | null }> {
    const cursor: Cursor | undefined = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
    const query = manager.createQueryBuilder(this.target, 'e');
    for (const [property, value] of Object.entries(request.where ?? {})) {
      if (value !== undefined) query.andWhere(`e.${property} = :${property}`, { [property]: value });
    }
    if (cursor) {
      query.andWhere(
        new Brackets((q) =>
          q.where('e.createdAt < :createdAt', cursor).orWhere('(e.createdAt = :createdAt AND e.id < :id)', cursor),
        ),
      );
    }
    const rows = await query
      .orderBy('e.createdAt', 'DESC')
      .addOrderBy('e.id', 'DESC')
      .limit(request.limit + 1)
      .getMany();
    const items = rows.slice(0, request.limit);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > request.limit && last ? encodeCursor(last) : null };
  }

  private async outcome(manager: EntityManager, id: string, rows: Record<string, unknown>[]): Promise<WriteOutcome<T>> {
    const row = rows[0];
    if (row) return { status: 'done', entity: entityFromRow(manager, this.target, row) };
    const exists = await manager.existsBy(this.target, { id } as FindOptionsWhere<T>);
    return exists ? { status: 'version-mismatch' } : { status: 'not-found' };
  }
}
