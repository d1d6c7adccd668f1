/**
 * Test-only knobs for failures the Vault API itself cannot be asked for: slow answers,
 * a standby that redirects, and canned failures for the next requests.
 */
import type { VaultReply } from './http';

/** Fault injection on a running emulator. */
export interface VaultFaults {
  /** Delay before answering every request, sys/health included (default 0). */
  latencyMs: number;
  /**
   * When set, every request except sys/health gets 307 with
   * `Location: <this base URL><same path and query>`, like a standby node with request
   * forwarding disabled (and sys/health reports standby).
   */
  standbyRedirectTo: string | null;
  /**
   * The next `count` requests (sys/health excluded) answer `status` with `body` (default
   * `{"errors":[]}`; a string is sent as-is as text/plain unless `headers` say otherwise)
   * and `headers`. Status 0 drops the connection without an answer. Calls queue up.
   */
  failNext(count: number, status: number, body?: unknown, headers?: Record<string, string>): void;
  /** Back to no latency, no redirect, no queued failures. */
  reset(): void;
}

interface QueuedFailure {
  remaining: number;
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;
}

/** What the pipeline does with a queued failure: answer it, or drop the connection. */
export type FailureAction = { kind: 'reply'; reply: VaultReply } | { kind: 'drop' };

/** The emulator's fault state. */
export class FaultState implements VaultFaults {
  latencyMs = 0;
  standbyRedirectTo: string | null = null;
  private readonly queue: QueuedFailure[] = [];

  failNext(count: number, status: number, body?: unknown, headers?: Record<string, string>): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`failNext: count must be a whole number >= 0, got ${count}`);
    if (count === 0) return;
    this.queue.push({ remaining: count, status, body: body === undefined ? { errors: [] } : body, headers: { ...(headers ?? {}) } });
  }

  reset(): void {
    this.latencyMs = 0;
    this.standbyRedirectTo = null;
    this.queue.length = 0;
  }

  /** Consumes one queued failure, if any. */
  take(): FailureAction | null {
    const next = this.queue[0];
    if (!next) return null;
    next.remaining -= 1;
    if (next.remaining <= 0) this.queue.shift();
    if (next.status === 0) return { kind: 'drop' };
    if (typeof next.body === 'string') return { kind: 'reply', reply: { status: next.status, rawBody: next.body, headers: next.headers } };
    return { kind: 'reply', reply: { status: next.status, body: next.body, headers: next.headers } };
  }
}
