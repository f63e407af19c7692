import { Logger } from '@nestjs/common';
import type { RedisClientType } from '@redis/client';
import { settlesWithin } from '../../common/index.js';
import { closeNodeRedisClient } from '../redis/index.js';
import type { WriteMode } from './cache.store.js';
import type { InvalidationChannel, InvalidationListener } from './invalidation-channel.js';
import type { RedisCacheStore } from './redis.store.js';

const CHANNEL = 'cache-invalidate';

/**
 * The invalidation channel on Redis pub/sub, under the store's key prefix. It listens on a
 * connection of its own (a subscribed connection can send nothing else) and publishes through the
 * store, so a publish has the store's timeout and breaker.
 */
export class RedisInvalidationChannel implements InvalidationChannel {
  private readonly logger = new Logger('Cache');
  private readonly subscriber: RedisClientType;
  private subscribed = false;

  constructor(private readonly store: RedisCacheStore) {
    this.subscriber = store.client.duplicate();
    this.subscriber.on('error', () => {
      // The store's client logs outages; while this connection is down the channel is not live.
    });
  }

  get live(): boolean {
    return this.subscribed && this.subscriber.isReady;
  }

  async subscribe(listener: InvalidationListener, waitMs: number): Promise<void> {
    // Each reconnect: messages sent while this connection was down were lost.
    this.subscriber.on('ready', () => listener.resync());
    const subscribed = this.subscriber
      .connect()
      .then(() => this.subscriber.subscribe(this.store.channelName(CHANNEL), (message) => listener.message(message)))
      .then(() => {
        this.subscribed = true;
        listener.resync();
      })
      .catch((error: unknown) => this.logger.warn(`Cache invalidation channel unavailable: ${String(error)}`));
    await settlesWithin(subscribed, waitMs);
  }

  async publish(message: string, mode?: WriteMode): Promise<void> {
    await this.store.publish(CHANNEL, message, mode);
  }

  async close(): Promise<void> {
    await closeNodeRedisClient(this.subscriber);
  }
}
