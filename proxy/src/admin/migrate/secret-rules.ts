/**
 * What counts as a pasted secret. Two kinds of rule, tried on one candidate string at a time:
 *
 * - Well-known formats, recognisable anywhere: Stripe secret and restricted keys, GitHub
 *   tokens, Slack tokens and webhooks, AWS access key ids, Google API keys, OpenAI-style and
 *   Anthropic keys, Telegram bot tokens, JWTs, PEM private keys, and `Basic` credentials. Their prefixes and
 *   lengths are published by the vendors (and used by GitHub secret scanning and secretlint).
 * - Values that match no format but sit next to a key-like name (`api_key`, `x-api-key`,
 *   `Authorization`, `client_secret`, `password`, an AWS secret access key's name) and look
 *   random: long enough, several character classes, high Shannon entropy.
 *
 * A candidate that is a placeholder (placeholders.ts) never matches, and neither does a
 * publishable key (Stripe `pk_…`): it is meant to be public.
 */
import { isPlaceholder } from './placeholders';

/** The kinds of secret the scanner names in its findings. */
export type SecretKind =
  | 'stripe-key'
  | 'github-token'
  | 'slack-token'
  | 'slack-webhook'
  | 'aws-access-key-id'
  | 'aws-secret-access-key'
  | 'google-api-key'
  | 'openai-key'
  | 'anthropic-key'
  | 'telegram-bot-token'
  | 'jwt'
  | 'private-key'
  | 'basic-credentials'
  | 'password'
  | 'generic-secret';

/** A secret found in a candidate string: its kind and the exact secret text (never printed). */
export interface SecretMatch {
  kind: SecretKind;
  secret: string;
}

interface FormatRule {
  kind: SecretKind;
  pattern: RegExp;
}

/**
 * Order matters: the first rule that matches names the kind (an Anthropic key also fits the
 * OpenAI-style shape). Every pattern is bounded by non-token characters on both sides so a
 * match is a whole token, not a slice of a longer word.
 */
const FORMAT_RULES: readonly FormatRule[] = [
  { kind: 'private-key', pattern: /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z]+ )*PRIVATE KEY-----/ },
  { kind: 'stripe-key', pattern: /(?<![A-Za-z0-9_])(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,247}(?![A-Za-z0-9_])/ },
  { kind: 'github-token', pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])/ },
  { kind: 'slack-webhook', pattern: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{20,}/ },
  { kind: 'slack-token', pattern: /(?<![A-Za-z0-9_-])xox[abposre]-[0-9]{6,}-[A-Za-z0-9-]{8,}(?![A-Za-z0-9_-])/ },
  { kind: 'aws-access-key-id', pattern: /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Z0-9])/ },
  { kind: 'google-api-key', pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/ },
  { kind: 'anthropic-key', pattern: /(?<![A-Za-z0-9_-])sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{80,}(?![A-Za-z0-9_-])/ },
  { kind: 'openai-key', pattern: /(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])/ },
  { kind: 'telegram-bot-token', pattern: /(?<![0-9])[0-9]{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/ },
  { kind: 'jwt', pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}(?![A-Za-z0-9_-])/ },
];

/** Names under which a value is a credential, whatever it looks like. */
const KEY_LIKE_NAME =
  /(?:^|[^a-z])(?:api[-_ ]?key|apikey|app[-_]?key|access[-_]?key|secret|token|auth|authorization|bearer|credential|passw(?:or)?d|passphrase|pwd|private[-_]?key|signature|sig|client[-_]?secret|session[-_]?key|key)(?:[^a-z]|$)|(?:apikey|token|secret|password)$|^appid$/i;
/** Names of password fields, where shorter values count (people choose them). */
const PASSWORD_NAME = /passw(?:or)?d|passphrase|(?:^|[^a-z])pwd(?:[^a-z]|$)/i;
/** Names of an AWS secret access key, whose value is 40 characters of base64. */
const AWS_SECRET_NAME = /aws.?secret|secret.?access.?key/i;
const AWS_SECRET_VALUE = /^[A-Za-z0-9/+]{40}$/;
/** Names that say "key" but hold no secret: ids, lookups, pagination, routing. */
const NOT_A_SECRET_NAME =
  /(?:^|[^a-z])(?:keys?[-_]?(?:id|name|field|type|path|prefix)|key[-_]?by|sort[-_]?key|partition[-_]?key|idempotency[-_]?key|primary[-_]?key|public[-_]?key|publishable|token[-_]?(?:type|url|endpoint|expiry|expires|ttl|count|limit|usage)|next[-_]?(?:page[-_]?)?token|page[-_]?token|continuation[-_]?token|cursor)(?:[^a-z]|$)/i;

/** `Bearer x`, `Token x`, `Basic x` …: the scheme words before a credential in a header. */
const AUTH_SCHEME = /^\s*(bearer|token|basic|apikey|api-key|key|sso-key|dsn)\s+/i;

/** Shannon entropy in bits per character. */
export function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

function caseSwitches(value: string): number {
  let switches = 0;
  for (let i = 1; i < value.length; i += 1) if (value[i] < 'a' !== value[i - 1] < 'a') switches += 1;
  return switches;
}

function characterClasses(value: string): number {
  return [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(value)).length;
}

/** Whether a value without a known format looks like a generated credential. */
function looksRandom(value: string, minLength: number): boolean {
  if (value.length < minLength || /\s/.test(value)) return false;
  // URLs, paths, e-mail addresses, dates and plain words are data, not secrets.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || value.startsWith('/') || /^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i.test(value)) return false;
  if (/^\d{4}-\d{2}-\d{2}/.test(value) || /^\d+$/.test(value)) return false;
  // Letters only: a key drawn from letters switches case all the time; a camelCase word does not.
  if (/^[A-Za-z]+$/.test(value)) return entropy(value) >= 4.2 && caseSwitches(value) >= value.length / 4;
  const classes = characterClasses(value);
  // Hex keys (one or two classes) are common: ask more entropy of fewer classes.
  return classes >= 2 && entropy(value) >= (classes >= 3 ? 3.2 : 3.0);
}

/** The user name and password of `Basic <base64>`, when it decodes to `user:password`. */
export function decodeBasic(encoded: string): { username: string; password: string } | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0 || !/^[\x20-\x7e]+$/.test(text)) return null;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Whether `name` (a header, field, variable or parameter name) says its value is a credential. */
export function isKeyLikeName(name: string | null): boolean {
  return name !== null && KEY_LIKE_NAME.test(name) && !NOT_A_SECRET_NAME.test(name);
}

function formatMatch(candidate: string): SecretMatch | null {
  for (const rule of FORMAT_RULES) {
    const match = rule.pattern.exec(candidate);
    if (match !== null && !isPlaceholder(match[0])) return { kind: rule.kind, secret: match[0] };
  }
  return null;
}

/**
 * The secret in `candidate`, or null. `name` is the key-like name the value sits under (a
 * header name, a field name, a variable), or null when there is none.
 */
export function matchSecret(candidate: string, name: string | null): SecretMatch | null {
  if (isPlaceholder(candidate)) return null;
  const known = formatMatch(candidate);
  if (known !== null) return known;

  const scheme = AUTH_SCHEME.exec(candidate);
  const value = scheme === null ? candidate.trim() : candidate.slice(scheme[0].length).trim();
  if (value === '' || isPlaceholder(value)) return null;
  if (scheme?.[1].toLowerCase() === 'basic') {
    const basic = decodeBasic(value);
    if (basic !== null && basic.password !== '' && !isPlaceholder(basic.password)) return { kind: 'basic-credentials', secret: value };
  }
  if (name !== null && AWS_SECRET_NAME.test(name) && AWS_SECRET_VALUE.test(value)) return { kind: 'aws-secret-access-key', secret: value };
  // An auth scheme word in front is as good as a key-like name.
  if (!isKeyLikeName(name) && scheme === null) return null;
  if (name !== null && PASSWORD_NAME.test(name) && !/\s/.test(value) && value.length >= 8 && characterClasses(value) >= 2) {
    return { kind: 'password', secret: value };
  }
  return looksRandom(value, 16) ? { kind: 'generic-secret', secret: value } : null;
}
