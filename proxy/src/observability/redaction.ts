/**
 * What counts as a secret in our logs, and how to blank it out. Two nets, because neither
 * alone is enough:
 * - values: every secret the proxy holds is registered here the moment it is read, so it is
 *   replaced wherever it turns up, even inside an upstream's error message;
 * - keys: a field whose name says it carries a credential is blanked whatever its value, which
 *   covers secrets we never saw (a client's token, a Vault token in an axios config).
 * A few well-known token shapes are masked in free text as a last net for unregistered values.
 */
import { secretSpellings } from '../secrets/spellings';

/** What a redacted value or field reads as. */
export const REDACTED = '[REDACTED]';

/**
 * Shorter values are not registered: replacing every "abc" in every log line would shred the
 * logs, and a secret that short is not protected by hiding it anyway.
 */
export const MIN_SECRET_LENGTH = 4;

const SENSITIVE_KEY = /authorization|token|secret|password|passwd|api[-_]?key|cookie|credential|private[-_]?key|x-vault-token|client_token|secret_id/i;

/** Keys that match the sensitive pattern but carry no secret, and that we log on purpose. */
export const SAFE_KEYS: ReadonlySet<string> = new Set([
  'tokenId', // the id part of `spt_<id>_<secret>`, made to be shown
  'tokenExpiresAt',
  'tokensExpiringSoon',
  'secretMs', // a duration in the audit record
  'secretPath', // a KV path is a name, not a value
  'errorCode',
]);

/** Token shapes masked in any text, registered or not. The replacement keeps what is safe to show. */
const TOKEN_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  // Authorization header values quoted in messages ("Bearer abc...", "Basic dXNl...").
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/-]{8,}=*/gi, `$1 ${REDACTED}`],
  // Vault service/batch/recovery tokens, and legacy service tokens.
  [/\bhv[sbr]\.[A-Za-z0-9_-]{20,}/g, REDACTED],
  [/\bs\.[A-Za-z0-9]{24}\b/g, REDACTED],
  // Our own proxy tokens: keep the id, which logs and whoami show anyway.
  [/\bspt_([a-z0-9]{1,32})_[A-Za-z0-9_-]{16,}/g, `spt_$1_${REDACTED}`],
];
/**
 * Matches wherever any pattern above could (a superset: case-insensitive throughout), so text
 * without a token shape costs one scan instead of one per pattern; the exact patterns run only
 * after a hit.
 */
const ANY_TOKEN_SHAPE = new RegExp(TOKEN_PATTERNS.map(([pattern]) => `(?:${pattern.source})`).join('|'), 'i');
/** The shortest text a pattern above can match ("Basic " and eight characters): shorter text needs no scan for them. */
const SHORTEST_TOKEN_MATCH = 14;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The spellings a value can take in a log line: raw, URL-encoded (a query parameter; when it has a form), JSON-escaped (a serialised body). */
function spellings(value: string): string[] {
  const { raw, percentEncoded, jsonEscaped } = secretSpellings(value);
  const forms = new Set([raw, percentEncoded ?? raw, jsonEscaped]);
  return [...forms];
}

/**
 * The registry of known secret values and the one place that decides what is redacted.
 * One instance is shared by the logger and by whatever reads secrets (Vault, config).
 */
export class SecretRedactor {
  /** Spelling → how many registered values produce it, so removing one value leaves another's forms in place. */
  private readonly forms = new Map<string, number>();
  /** Compiled lazily on first use after a change: registration is rare, redaction is per log line. */
  private matcher: RegExp | null = null;
  /** The shortest text `redact` can change: most fields of a log line are shorter (a method, a route, an address). */
  private shortestMatch = SHORTEST_TOKEN_MATCH;
  private stale = false;
  private readonly safeKeys: ReadonlySet<string>;

  /** `safeKeys` adds field names that look sensitive but are logged on purpose (e.g. a count named `tokens`). */
  constructor(options: { safeKeys?: Iterable<string> } = {}) {
    this.safeKeys = options.safeKeys ? new Set([...SAFE_KEYS, ...options.safeKeys]) : SAFE_KEYS;
  }

  /** Registers a secret value. Returns false (and registers nothing) for values under MIN_SECRET_LENGTH. */
  add(value: string | null | undefined): boolean {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) return false;
    for (const form of spellings(value)) this.forms.set(form, (this.forms.get(form) ?? 0) + 1);
    this.stale = true;
    return true;
  }

  /**
   * Registers the password and the base64 of `user:pass`, which is what a Basic
   * Authorization header carries and what would otherwise slip past value matching.
   */
  addBasicCredentials(user: string, pass: string): void {
    this.add(pass);
    this.add(Buffer.from(`${user}:${pass}`, 'utf8').toString('base64'));
  }

  /** Forgets a value (e.g. long after rotation). Keeping rotated values registered for a while is the safer default. */
  remove(value: string): void {
    if (value.length < MIN_SECRET_LENGTH) return;
    for (const form of spellings(value)) {
      const count = this.forms.get(form);
      if (count === undefined) continue;
      if (count <= 1) this.forms.delete(form);
      else this.forms.set(form, count - 1);
    }
    this.stale = true;
  }

  /** Forgets every registered value. */
  clear(): void {
    this.forms.clear();
    this.stale = true;
  }

  /** How many distinct spellings are registered. */
  get size(): number {
    return this.forms.size;
  }

  /** Replaces every registered value and every known token shape in `text` with REDACTED. */
  redact(text: string): string {
    const matcher = this.compiled();
    if (text.length < this.shortestMatch) return text;
    let out = text;
    if (matcher !== null) out = out.replace(matcher, REDACTED);
    if (!ANY_TOKEN_SHAPE.test(out)) return out;
    for (const [pattern, replacement] of TOKEN_PATTERNS) out = out.replace(pattern, replacement);
    return out;
  }

  /** True when a field of this name must never be logged with its value. */
  isSensitiveKey(key: string): boolean {
    return SENSITIVE_KEY.test(key) && !this.safeKeys.has(key);
  }

  private compiled(): RegExp | null {
    if (this.stale) {
      // Longest first: where one secret contains another, the whole longer one must go.
      const sorted = [...this.forms.keys()].sort((a, b) => b.length - a.length);
      this.matcher = sorted.length === 0 ? null : new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
      this.shortestMatch = Math.min(SHORTEST_TOKEN_MATCH, ...sorted.map((form) => form.length));
      this.stale = false;
    }
    return this.matcher;
  }
}
