import { Injectable } from '@nestjs/common';
import type { Page } from '../../infra/database/index.js';
import {
  DEFAULT_PAGE_SIZE,
  type PageQueryDto,
  preconditionFailed,
  entityOrFail,
  notFound,
  rethrowWriteError,
} from '../../infra/http/index.js';
import { UnitOfWork } from '../../infra/outbox/index.js';
import type { CreateUserDto } from './dto/create-user.dto.js';
import type { UpdateUserDto } from './dto/update-user.dto.js';
import { toUserResponse, type UserResponseDto } from './dto/user-response.dto.js';
import { WelcomeEmailQuota } from './welcome-email.quota.js';
import { userAggregate } from './user.events.js';
import { UsersRepository } from './users.repository.js';

const CONSTRAINTS = { conflicts: { users_email_lower_uq: 'email' } };

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly unitOfWork: UnitOfWork,
    private readonly welcomeEmails: WelcomeEmailQuota,
  ) {}

  async get(id: string): Promise<UserResponseDto> {
    const user = await this.users.findById(id);
    if (!user) throw notFound('User');
    return toUserResponse(user);
  }

  async list(query: PageQueryDto): Promise<Page<UserResponseDto>> {
    const page = await this.users.page({ limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor });
    return { items: page.items.map(toUserResponse), nextCursor: page.nextCursor };
  }

  /**
   * `client` is who asks, as the rate limiter names it (`clientKeyOf`): past its welcome email
   * limit the user is created all the same, and the email is not sent.
   */
  async create(input: CreateUserDto, client: string): Promise<UserResponseDto> {
    // Decided before the transaction: no transaction waits on the limiter's store.
    const welcome = await this.welcomeEmails.decide(client);
    try {
      return await this.unitOfWork.run(async (tx) => {
        const user = toUserResponse(await this.users.insert(tx.manager, input));
        const event = tx.emit(userAggregate, 'created', user);
        await this.welcomeEmails.record(tx, welcome, event.id, user.email);
        return user;
      });
    } catch (error) {
      rethrowWriteError(error, 'a user', CONSTRAINTS);
    }
  }

  /** `expectedVersions` comes from If-Match: the update applies only to one of those versions. */
  async update(id: string, changes: UpdateUserDto, expectedVersions?: number[]): Promise<UserResponseDto> {
    if (Object.keys(changes).length === 0) return this.unchanged(id, expectedVersions);
    try {
      return await this.unitOfWork.run(async (tx) => {
        const user = toUserResponse(
          entityOrFail(await this.users.update(tx.manager, id, changes, expectedVersions), 'User'),
        );
        tx.emit(userAggregate, 'updated', user);
        return user;
      });
    } catch (error) {
      rethrowWriteError(error, 'a user', CONSTRAINTS);
    }
  }

  async remove(id: string, expectedVersions?: number[]): Promise<void> {
    await this.unitOfWork.run(async (tx) => {
      const outcome = await this.users.delete(tx.manager, id, expectedVersions);
      tx.emit(userAggregate, 'deleted', toUserResponse(entityOrFail(outcome, 'User')));
    });
  }

  /** An empty PATCH changes nothing (no new version, no event) but still honours If-Match. */
  private async unchanged(id: string, expectedVersions?: number[]): Promise<UserResponseDto> {
    const user = await this.get(id);
    if (expectedVersions && !expectedVersions.includes(user.version)) throw preconditionFailed();
    return user;
  }
}
