import { Logger } from '@nestjs/common';

/** How often missed write-throughs are retried while any is left. */
const REPLAY_RETRY_MS = 1000;
/** Repairs sent together (node-redis pipelines concurrent commands). */
const REPAIR_BATCH = 100;
/** Bounded: past this many, the oldest is forgotten and only its TTL limits how long it can be stale. */
const MAX_REPAIRS = 10_000;

/** A write-through this instance could not confirm: the version it wrote (none for a delete) and the entry's life. */
interface Repair {
  version?: number;
  ttlMs: number;
}

/** The `commit` commands a replay sends through the store (each confirms or re-remembers what it covers). */
export interface RepairCommands {
  /** Takes the lease away and leaves a valueless entry of `version` unless that version or a newer one is there. */
  fence(key: string, version: number, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  bump(tags: string[]): Promise<void>;
}

/**
 * The Redis store's memory of write-throughs it could not confirm (a write, a delete or a tag
 * bump during an outage): such a key is a miss on this instance, such a tag has no current
 * generation, until the replay has fenced the key or bumped the tag in Redis (see `replay`).
 */
export class WriteThroughRepairs {
  private readonly logger = new Logger('Cache');
  private readonly keys = new Map<string, Repair>();
  private readonly tags = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private replaying = false;

  constructor(private readonly commands: RepairCommands) {}

  /** A key whose write-through was missed: this instance treats it as a miss. */
  hasKey(key: string): boolean {
    return this.keys.size > 0 && this.keys.has(key);
  }

  /** A tag whose bump was missed: its generation is unknown here. */
  hasTag(tag: string): boolean {
    return this.tags.size > 0 && this.tags.has(tag);
  }

  /** A commit landed (or was refused because a newer version is there): Redis holds this version or a newer one. */
  keyConfirmed(key: string): void {
    this.keys.delete(key);
  }

  tagsConfirmed(tags: readonly string[]): void {
    for (const tag of tags) this.tags.delete(tag);
  }

  /** A commit write or delete (no version) that failed. */
  rememberKey(key: string, repair: Repair): void {
    const known = this.keys.get(key);
    if (known !== undefined) {
      // Two missed write-throughs of one key: the fence takes the newer version (a delete has none).
      this.keys.set(key, {
        version: Math.max(known.version ?? 0, repair.version ?? 0) || undefined,
        ttlMs: Math.max(known.ttlMs, repair.ttlMs),
      });
      return;
    }
    if (this.keys.size >= MAX_REPAIRS) {
      const oldest = this.keys.keys().next();
      if (!oldest.done) this.keys.delete(oldest.value);
    }
    this.keys.set(key, repair);
    this.schedule();
  }

  /** A commit bump that failed. */
  rememberTags(tags: readonly string[]): void {
    for (const tag of tags) this.tags.add(tag);
  }

  /**
   * Fences every key whose write-through was missed. Never a write-back of the remembered value:
   * another instance may have committed (and written) a newer version meanwhile, or a Redis that
   * restarted empty may have lost it, so that value may be old. Never a plain delete either: while
   * this instance could not reach Redis, another one may have stored a value it loaded before the
   * missed write's commit (and its reader may still be about to), and a delete would leave the
   * version guard nothing to refuse that with. The fence (the missed version, no value) makes the
   * key a miss, takes the lease from any reader loading it, and refuses every older write, so
   * the next read anywhere loads the current row and stores it. The store calls it when Redis is
   * back (its client's reconnect, its breaker's reset); while any is left it retries every second,
   * as an instance whose reads never failed (so whose breaker never opened) must still replay, or
   * another instance's older replay could win.
   */
  async replay(): Promise<void> {
    if (this.keys.size === 0 && this.tags.size === 0) return;
    if (this.replaying) return;
    this.replaying = true;
    const pending = `${this.keys.size} cache entries and ${this.tags.size} tags whose write-through failed during the outage`;
    try {
      if (this.tags.size > 0) await this.commands.bump([...this.tags]);
      const keys = [...this.keys.keys()];
      for (let i = 0; i < keys.length; i += REPAIR_BATCH)
        await Promise.all(keys.slice(i, i + REPAIR_BATCH).map((key) => this.repair(key)));
      this.logger.log(`Fenced ${pending}`);
    } catch (error) {
      // Still failing (counted in the store's failures): what is left is retried in a second.
      this.logger.debug(`clearing ${pending} failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.replaying = false;
      if (this.keys.size > 0 || this.tags.size > 0) this.schedule();
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.replay();
    }, REPLAY_RETRY_MS);
    this.timer.unref();
  }

  private async repair(key: string): Promise<void> {
    const repair = this.keys.get(key);
    if (repair === undefined) return;
    if (repair.version === undefined) return this.commands.delete(key);
    await this.commands.fence(key, repair.version, repair.ttlMs);
    // A newer write-through of this key may have been missed while this ran: keep that one.
    if (this.keys.get(key) === repair) this.keys.delete(key);
  }
}
