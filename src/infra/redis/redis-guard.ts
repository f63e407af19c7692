import {
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
  isBrokenCircuitError,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { CommandDeadlines } from './command-deadlines.js';

export interface RedisGuardOptions {
  /** A command without a reply after this long fails (it is never waited for). */
  commandTimeoutMs: number;
  /** After this many consecutive failures the breaker opens and calls fail at once. */
  breakerThreshold: number;
  /** How long the breaker stays open before letting one probe through. */
  breakerHalfOpenMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

export interface GuardedCall {
  /** This call's timeout instead of `commandTimeoutMs`. */
  timeoutMs?: number;
  /**
   * Sent even while the breaker is open, and not counted by it: for writes that must reach Redis
   * (a breaker opened by slow reads must not drop them).
   */
  pastBreaker?: boolean;
}

/** True for the error of a call the open breaker refused without sending it. */
export function isRefusedByBreaker(error: unknown): boolean {
  return isBrokenCircuitError(error);
}

/**
 * What every Redis user (cache, throttle, counters) puts around its commands: a deadline per
 * command and a circuit breaker (cockatiel), so an outage costs one fast failure per call instead
 * of a timeout per call. Commands, failures and refusals are counted for status pages.
 */
export class RedisGuard {
  readonly counts = { commands: 0, failures: 0, shortCircuited: 0 };
  private readonly breaker: CircuitBreakerPolicy;
  private readonly deadlines: CommandDeadlines;

  constructor(private readonly options: RedisGuardOptions) {
    this.deadlines = new CommandDeadlines(options.commandTimeoutMs / 4);
    this.breaker = circuitBreaker(handleAll, {
      halfOpenAfter: options.breakerHalfOpenMs,
      breaker: new ConsecutiveBreaker(options.breakerThreshold),
    });
  }

  get state(): BreakerState {
    switch (this.breaker.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.Open:
        return 'open';
      case CircuitState.HalfOpen:
        return 'half-open';
      default:
        return 'isolated';
    }
  }

  /** Called each time the breaker opens (again after each failed probe). */
  onBreak(listener: () => void): void {
    this.breaker.onBreak(listener);
  }

  /** Called when a probe succeeded and the breaker closed. */
  onReset(listener: () => void): void {
    this.breaker.onReset(listener);
  }

  async run<T>(command: () => Promise<T>, call: GuardedCall = {}): Promise<T> {
    const timeoutMs = call.timeoutMs ?? this.options.commandTimeoutMs;
    if (call.pastBreaker) {
      this.counts.commands += 1;
      try {
        return await this.deadlines.within(command(), timeoutMs);
      } catch (error) {
        this.counts.failures += 1;
        throw error;
      }
    }
    try {
      return await this.breaker.execute(() => {
        this.counts.commands += 1;
        return this.deadlines.within(command(), timeoutMs);
      });
    } catch (error) {
      if (isBrokenCircuitError(error)) this.counts.shortCircuited += 1;
      else this.counts.failures += 1;
      throw error;
    }
  }

  /** Stops the deadline timer (at shutdown). */
  close(): void {
    this.deadlines.stop();
  }
}
