/**
 * One pending action at a time. Timers are unref'd (a pending renewal must never keep the
 * process, or a test runner, alive) and always cleared on replacement or stop.
 */

/** Exponential backoff for retries: 500 ms, 1 s, 2 s ... capped at 15 s. */
export function backoff(failures: number): number {
  return Math.min(15_000, 500 * 2 ** Math.max(0, failures - 1));
}

/** A replaceable, unref'd single timer. */
export class OneShotTimer {
  private handle: NodeJS.Timeout | null = null;

  /** Whether an action is waiting. */
  get pending(): boolean {
    return this.handle !== null;
  }

  /** Replaces any pending action with `action` after `delayMs`. */
  set(action: () => void, delayMs: number): void {
    this.clear();
    this.handle = setTimeout(() => {
      this.handle = null;
      action();
    }, delayMs);
    this.handle.unref();
  }

  clear(): void {
    if (this.handle !== null) clearTimeout(this.handle);
    this.handle = null;
  }
}
