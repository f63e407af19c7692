interface InFlight {
  /** Epoch ms past which the command fails. */
  deadline: number;
  timeoutMs: number;
  reject: (error: Error) => void;
}

/** A Redis command that got no reply within its deadline. */
export class RedisCommandTimeoutError extends Error {
  override name = 'RedisCommandTimeoutError';
}

/**
 * The one timeout mechanism for Redis commands. Fails a reply once it is older than its timeout:
 * node-redis's own timeout only covers a command still waiting to be written, not one waiting for
 * its reply (a hung Redis). One sweep timer serves every command in flight, instead of a timer per
 * command on the hot path.
 */
export class CommandDeadlines {
  private readonly inFlight = new Set<InFlight>();
  private sweeper: NodeJS.Timeout | undefined;

  /** `sweepEveryMs`: how often overdue commands are looked for (a quarter of the usual timeout). */
  constructor(private readonly sweepEveryMs: number) {}

  within<T>(reply: Promise<T>, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: InFlight = { deadline: Date.now() + timeoutMs, timeoutMs, reject };
      this.inFlight.add(entry);
      if (this.sweeper === undefined) {
        this.sweeper = setInterval(() => this.sweep(), Math.max(5, Math.floor(this.sweepEveryMs)));
        this.sweeper.unref();
      }
      reply.then(
        (value) => {
          this.inFlight.delete(entry);
          resolve(value);
        },
        (error: unknown) => {
          this.inFlight.delete(entry);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  /** Stops the sweep timer (commands still in flight keep their own outcome). */
  stop(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private sweep(): void {
    if (this.inFlight.size === 0) {
      this.stop();
      return;
    }
    const now = Date.now();
    const overdue = [...this.inFlight].filter((entry) => entry.deadline <= now);
    if (overdue.length === 0) return;
    // After the poll phase: when the event loop itself was late (a busy CPU), replies that already
    // arrived are read first, so a command is failed only when Redis really did not answer in time.
    setImmediate(() => {
      for (const entry of overdue) {
        if (!this.inFlight.delete(entry)) continue;
        entry.reject(new RedisCommandTimeoutError(`Redis command timeout after ${entry.timeoutMs} ms`));
      }
    });
  }
}
