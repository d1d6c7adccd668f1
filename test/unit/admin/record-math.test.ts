/**
 * Rotation rules and record validation as pure functions: exact expiries for rotate, revoke
 * and prune, the states `token list` shows, and which records the proxy trusts.
 */
import {
  addToken,
  grant,
  inheritedTtl,
  PRUNE_AFTER_MS,
  prune,
  revokeAll,
  revokeById,
  rotate,
  tokenState,
  ungrant,
} from '../../../proxy/src/admin/tokens/record-math';
import { describeChange, diffRecords } from '../../../proxy/src/admin/tokens/record-diff';
import { parseDurationFlag, parseTtlFlag } from '../../../proxy/src/admin/tokens/durations';
import { TokenAdminUsageError } from '../../../proxy/src/admin/tokens/errors';
import { parseTokenRecord, type TokenRecord } from '../../../proxy/src/auth/vault-records/record';
import { grantsFromRecords } from '../../../proxy/src/auth/vault-records/grants';

const NOW = Date.parse('2030-01-01T00:00:00.000Z');
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const hash = (c: string) => `sha256:${c.repeat(64)}`;
const iso = (ms: number) => new Date(ms).toISOString();

const record: TokenRecord = {
  services: ['echo'],
  tokens: [
    { id: 'never', hash: hash('a'), createdAt: iso(NOW - 10 * DAY), expiresAt: null },
    { id: 'late', hash: hash('b'), createdAt: iso(NOW - 10 * DAY), expiresAt: iso(NOW + 30 * DAY) },
    { id: 'soon', hash: hash('c'), createdAt: iso(NOW - 10 * DAY), expiresAt: iso(NOW + 5 * 60_000) },
    { id: 'gone', hash: hash('d'), createdAt: iso(NOW - 10 * DAY), expiresAt: iso(NOW - DAY) },
  ],
};
const fresh = { id: 'new1', hash: hash('e') };

describe('rotate(record, token, now, grace, ttl)', () => {
  it('adds the new token and cuts every older valid token to min(its expiry, now + grace)', () => {
    const out = rotate(record, fresh, NOW, 15 * 60_000, 90 * DAY);
    expect(out.tokens.map((t) => [t.id, t.expiresAt])).toEqual([
      ['never', iso(NOW + 15 * 60_000)],
      ['late', iso(NOW + 15 * 60_000)],
      ['soon', iso(NOW + 5 * 60_000)],
      ['gone', iso(NOW - DAY)],
      ['new1', iso(NOW + 90 * DAY)],
    ]);
    expect(out.tokens[4].createdAt).toBe(iso(NOW));
    expect(record.tokens[0].expiresAt).toBeNull();
  });

  it('with grace 0 ends the older tokens now, and a null ttl makes a token without expiry', () => {
    const out = rotate(record, fresh, NOW, 0, null);
    expect(out.tokens.slice(0, 3).map((t) => t.expiresAt)).toEqual([iso(NOW), iso(NOW), iso(NOW)]);
    expect(out.tokens.slice(0, 3).map((t) => tokenState(t, NOW).state)).toEqual(['expired', 'expired', 'expired']);
    expect(out.tokens[4].expiresAt).toBeNull();
  });
});

describe('rotation marks and the inherited TTL', () => {
  it('marks every token it cuts with rotatedAt and the replacing id, keeps a first mark, and leaves expired tokens alone', () => {
    const once = rotate(record, fresh, NOW, 15 * 60_000, DAY);
    expect(once.tokens.map((t) => [t.id, t.rotatedAt ?? null, t.replacedBy ?? null])).toEqual([
      ['never', iso(NOW), 'new1'],
      ['late', iso(NOW), 'new1'],
      ['soon', iso(NOW), 'new1'],
      ['gone', null, null],
      ['new1', null, null],
    ]);
    const twice = rotate(once, { id: 'new2', hash: hash('f') }, NOW + 60_000, 0, DAY);
    expect(twice.tokens.find((t) => t.id === 'late')).toMatchObject({ rotatedAt: iso(NOW), replacedBy: 'new1', expiresAt: iso(NOW + 60_000) });
    expect(twice.tokens.find((t) => t.id === 'new1')).toMatchObject({ rotatedAt: iso(NOW + 60_000), replacedBy: 'new2' });
    expect(parseTokenRecord(twice).ok).toBe(true);
  });

  it("tokenState says a cut token is in a rotation's grace, and expired once it ended", () => {
    const cut = rotate(record, fresh, NOW, 15 * 60_000, DAY).tokens[1];
    expect(tokenState(cut, NOW)).toEqual({ state: 'rotated', inMs: 15 * 60_000, replacedBy: 'new1' });
    expect(tokenState(cut, NOW + 15 * 60_000)).toEqual({ state: 'expired' });
  });

  it('takes the TTL the newest token was issued with', () => {
    const issued = addToken(record, fresh, NOW + DAY, 30 * DAY);
    expect(inheritedTtl(issued)).toEqual({ ttlMs: 30 * DAY, from: 'stored', tokenId: 'new1' });
    expect(inheritedTtl(addToken(record, fresh, NOW + DAY, null))).toEqual({ ttlMs: null, from: 'stored', tokenId: 'new1' });
  });

  it("falls back to the newest token's createdAt → expiresAt span for records written before the TTL was stored", () => {
    const old: TokenRecord = {
      services: ['echo'],
      tokens: [
        { id: 'older', hash: hash('a'), createdAt: iso(NOW - 40 * DAY), expiresAt: iso(NOW + 50 * DAY) },
        { id: 'newest', hash: hash('b'), createdAt: iso(NOW - DAY), expiresAt: iso(NOW + 29 * DAY) },
      ],
    };
    expect(inheritedTtl(old)).toEqual({ ttlMs: 30 * DAY, from: 'span', tokenId: 'newest' });
    const never = { ...old, tokens: [{ ...old.tokens[1], expiresAt: null }] };
    expect(inheritedTtl(never)).toEqual({ ttlMs: null, from: 'span', tokenId: 'newest' });
    expect(inheritedTtl({ services: [], tokens: [] })).toEqual({ ttlMs: null, from: 'none' });
    const backwards = { ...old, tokens: [{ ...old.tokens[1], expiresAt: iso(NOW - 2 * DAY) }] };
    expect(inheritedTtl(backwards)).toEqual({ ttlMs: null, from: 'none' });
  });
});

describe('grant and ungrant', () => {
  const two: TokenRecord = { ...record, services: ['echo', 'other'] };

  it('grant appends new services, reports those already granted, and keeps the tokens', () => {
    expect(grant(two, ['github', 'echo', 'github'])).toEqual({
      record: { ...two, services: ['echo', 'other', 'github'] },
      changed: ['github'],
      unchanged: ['echo'],
    });
    const same = grant(two, ['echo']);
    expect(same.record).toBe(two);
    expect(same.changed).toEqual([]);
  });

  it('ungrant removes services, reports those not granted, and keeps the tokens', () => {
    expect(ungrant(two, ['other', 'jira'])).toEqual({ record: { ...two, services: ['echo'] }, changed: ['other'], unchanged: ['jira'] });
    expect(ungrant(two, ['jira']).record).toBe(two);
  });
});

describe('record diff (before → after)', () => {
  it('names the services and tokens before and after, each token added, cut short, revoked or pruned; never a hash', () => {
    const before: TokenRecord = { ...record, services: ['echo'] };
    const rotated = rotate(before, fresh, NOW, 15 * 60_000, DAY);
    const after = prune({ ...grant(rotated, ['other']).record, tokens: rotated.tokens.filter((t) => t.id !== 'never') }, NOW + PRUNE_AFTER_MS);
    const change = diffRecords('n8n-prod', before, after, NOW + PRUNE_AFTER_MS);
    const lines = describeChange(change);
    expect(lines).toEqual([
      'client "n8n-prod", before → after:',
      '  services: echo → echo, other',
      '  tokens:   never, late, soon, gone → late, soon, new1',
      `  + token new1 added, expires ${iso(NOW + DAY)}`,
      `  ~ token late now expires ${iso(NOW + 15 * 60_000)} (was ${iso(NOW + 30 * DAY)})`,
      // "soon" ends before the grace would: its expiry did not move, so it is not listed as cut.
      '  - token never revoked',
      `  - token gone removed (expired ${iso(NOW - DAY)}, kept 7 days)`,
    ]);
    expect(lines.join('\n')).not.toContain('sha256');
  });

  it('says unchanged where nothing moved', () => {
    expect(describeChange(diffRecords('c', record, record, NOW)).slice(1)).toEqual([
      '  services: echo (unchanged)',
      '  tokens:   never, late, soon, gone (unchanged)',
    ]);
  });
});

describe('add, revoke, prune, state', () => {
  it('addToken keeps the other tokens untouched', () => {
    expect(addToken(record, fresh, NOW, DAY).tokens).toEqual([
      ...record.tokens,
      { ...fresh, createdAt: iso(NOW), expiresAt: iso(NOW + DAY), ttlSeconds: 86400 },
    ]);
  });

  it('revokeById removes exactly that token and reports it; an unknown id revokes nothing', () => {
    const { record: out, revoked } = revokeById(record, 'late');
    expect(revoked.map((t) => t.id)).toEqual(['late']);
    expect(out.tokens.map((t) => t.id)).toEqual(['never', 'soon', 'gone']);
    expect(revokeById(record, 'nope').revoked).toEqual([]);
  });

  it('revokeAll empties the tokens and keeps the services', () => {
    const { record: out, revoked } = revokeAll(record);
    expect(out).toEqual({ services: ['echo'], tokens: [] });
    expect(revoked).toHaveLength(4);
  });

  it('prune drops tokens expired more than 7 days ago only', () => {
    expect(prune(record, NOW + PRUNE_AFTER_MS - DAY - 1)).toBe(record);
    expect(prune(record, NOW + PRUNE_AFTER_MS - DAY).tokens.map((t) => t.id)).toEqual(['never', 'late', 'soon']);
  });

  it('tokenState: active, expiring within 7 days, expired at the expiry instant', () => {
    expect(record.tokens.map((t) => tokenState(t, NOW))).toEqual([
      { state: 'active' },
      { state: 'active' },
      { state: 'expiring', inMs: 5 * 60_000 },
      { state: 'expired' },
    ]);
    expect(tokenState(record.tokens[2], NOW + 5 * 60_000)).toEqual({ state: 'expired' });
  });
});

describe('duration flags', () => {
  it.each([
    ['15m', 15 * 60_000],
    ['90d', 90 * DAY],
    ['1.5h', 1.5 * HOUR],
    ['0', 0],
  ])('parses %s', (text, expected) => expect(parseDurationFlag('--grace', text)).toBe(expected));

  it.each(['90', '-5m', 'soon', ''])('refuses %j with the expected form', (text) => {
    expect(() => parseDurationFlag('--grace', text)).toThrow(TokenAdminUsageError);
    expect(() => parseDurationFlag('--grace', text)).toThrow(`--grace must be a duration with a unit such as 15m, 12h, 90d or 1y (or 0), got "${text}"`);
  });

  it('--ttl accepts "never" and refuses 0', () => {
    expect(parseTtlFlag('never')).toBeNull();
    expect(() => parseTtlFlag('0')).toThrow('--ttl must be longer than 0');
  });
});

describe('records read from Vault', () => {
  it('accepts a valid record and keeps unknown fields for a newer writer', () => {
    const parsed = parseTokenRecord({ ...record, note: 'kept' });
    expect(parsed).toEqual({ ok: true, record: { ...record, note: 'kept' } });
  });

  it.each([
    ['a string', 'hello', '(record): '],
    ['tokens missing', { services: [] }, 'tokens: '],
    [
      'a bad hash',
      { services: [], tokens: [{ ...record.tokens[0], hash: 'sha256:SECRETISH' }] },
      'tokens.0.hash: must be "sha256:" followed by 64 lower-case hex characters',
    ],
    ['a bad date', { services: [], tokens: [{ ...record.tokens[0], expiresAt: 'tomorrow' }] }, 'tokens.0.expiresAt: must be an ISO 8601 date-time'],
    ['a duplicate id', { services: [], tokens: [record.tokens[0], { ...record.tokens[1], id: 'never' }] }, 'tokens.1.id: duplicate token id'],
  ])('refuses %s, naming the field and never the value', (_name, raw, problem) => {
    const parsed = parseTokenRecord(raw);
    expect(parsed.ok).toBe(false);
    const problems = (parsed as { problems: string[] }).problems.join('\n');
    expect(problems).toContain(problem);
    expect(problems).not.toContain('SECRETISH');
  });

  it('grants: static clients win, unknown services are dropped, malformed records are refused whole', () => {
    const { clients, problems } = grantsFromRecords({
      staticClients: new Set(['static']),
      knownServices: new Set(['echo']),
      records: [
        { client: 'static', raw: record },
        { client: 'ok', raw: { ...record, services: ['echo', 'github'] } },
        { client: 'bad', raw: { services: ['echo'], tokens: 'x' } },
        { client: 'deleted', raw: null },
        { client: '../x', raw: record },
      ],
    });
    expect(clients.map((c) => [c.clientId, c.services, c.tokens.length])).toEqual([['ok', ['echo'], 4]]);
    expect(clients[0].tokens[1]).toEqual({ hash: hash('b'), id: 'late', expiresAt: new Date(NOW + 30 * DAY), replacedBy: null });
    expect(problems.map((p) => [p.client, p.message.split(',')[0].split(';')[0]])).toEqual([
      ['static', 'the client is defined both in the config file and in Vault'],
      ['ok', 'the token record names services this proxy does not define'],
      ['bad', 'the token record is malformed'],
      ['../x', 'the record name is not a valid client name (1-64 letters'],
    ]);
  });
});
