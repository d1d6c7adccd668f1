import { createHash } from 'node:crypto';
import { ClientRegistry } from '../../../proxy/src/auth/token-index';
import { generateToken, hashToken, isPlausibleToken, tokenIdOf } from '../../../proxy/src/auth/token-format';
import { bearerTokenOf } from '../../../proxy/src/auth/bearer';

describe('proxy tokens', () => {
  it('generates spt_<id>_<secret> tokens with a 256-bit secret and their sha256 hash', () => {
    const a = generateToken();
    const b = generateToken();
    expect(a.token).toMatch(/^spt_[a-f0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.hash).toBe(`sha256:${createHash('sha256').update(a.token).digest('hex')}`);
    expect(tokenIdOf(a.token)).toBe(a.id);
    // The secret part is base64url and may itself contain '_': take everything after the id.
    const secretPart = a.token.slice(`spt_${a.id}_`.length);
    expect(secretPart).toHaveLength(43);
    expect(a.hash).not.toContain(secretPart);
  });

  it.each([
    ['spt_abc123_' + 'x'.repeat(43), 'abc123'],
    ['spt_ABC_' + 'x'.repeat(43), null], // ids are lower case
    ['spt_abc_short', null],
    ['ghp_' + 'x'.repeat(36), null],
  ])('reads the id of %s as %s', (token, id) => {
    expect(tokenIdOf(token)).toBe(id);
  });

  it.each([
    ['spt_abc_def', true],
    ['legacy.token-value', true],
    ['', false],
    ['has space', false],
    ['x'.repeat(257), false],
    ['quote"', false],
  ])('judges %j plausible: %s', (token, plausible) => {
    expect(isPlausibleToken(token)).toBe(plausible);
  });
});

describe('bearer header parsing', () => {
  it.each([
    [undefined, 'PROXY_TOKEN_MISSING'],
    ['', 'PROXY_TOKEN_MISSING'],
    ['Basic dXNlcjpwYXNz', 'PROXY_TOKEN_INVALID'],
    ['Bearer', 'PROXY_TOKEN_INVALID'],
    ['Bearer a b', 'PROXY_TOKEN_INVALID'],
    ['Bearer tok\u0000en', 'PROXY_TOKEN_INVALID'],
  ])('refuses %j with %s', (header, code) => {
    const result = bearerTokenOf(header);
    expect('error' in result && result.error.code).toBe(code);
  });

  it.each(['Bearer spt_a_b', 'bearer spt_a_b', 'Bearer  spt_a_b ', 'BEARER\tspt_a_b'])('accepts %j', (header) => {
    expect(bearerTokenOf(header)).toEqual({ token: 'spt_a_b' });
  });
});

describe('client registry', () => {
  const active = generateToken();
  const expired = generateToken();
  const legacy = 'legacy-token-value-0123456789';
  const registry = new ClientRegistry({
    'n8n-prod': {
      tokenHashes: [active.hash, { hash: expired.hash, expiresAt: '2026-01-01T00:00:00Z', id: 'old1' }],
      services: ['echo', 'github'],
    },
    ci: { tokenHashes: [hashToken(legacy)], services: [] },
  });

  it('finds the client of a known token, with its services and token id', () => {
    const found = registry.lookup(active.token);
    expect(found).toEqual({
      ok: true,
      client: { id: 'n8n-prod', tokenId: active.id, expiresAt: null, services: new Set(['echo', 'github']) },
    });
  });

  it('accepts a token of another shape configured by hash, without an id', () => {
    expect(registry.lookup(legacy)).toMatchObject({ ok: true, client: { id: 'ci', tokenId: null } });
  });

  it('refuses an unknown token and a near miss', () => {
    expect(registry.lookup(generateToken().token)).toEqual({ ok: false, reason: 'unknown' });
    expect(registry.lookup(active.token.slice(0, -1) + (active.token.endsWith('A') ? 'B' : 'A'))).toEqual({ ok: false, reason: 'unknown' });
  });

  it('reports expiry only after the expiry instant', () => {
    const expiry = Date.parse('2026-01-01T00:00:00Z');
    expect(registry.lookup(expired.token, expiry - 1)).toMatchObject({ ok: true, client: { tokenId: 'old1' } });
    expect(registry.lookup(expired.token, expiry)).toEqual({ ok: false, reason: 'expired', clientId: 'n8n-prod', expiredAt: new Date(expiry) });
  });
});
