import { MIN_SECRET_LENGTH, REDACTED, SecretRedactor } from '../../../proxy/src/observability/redaction';

describe('SecretRedactor values', () => {
  it('replaces every occurrence of a registered value', () => {
    const r = new SecretRedactor();
    expect(r.add('s3cr3t-value')).toBe(true);
    expect(r.redact('a s3cr3t-value b s3cr3t-value')).toBe(`a ${REDACTED} b ${REDACTED}`);
  });

  it.each(['', 'a', 'abc'])('does not register %j (shorter than MIN_SECRET_LENGTH)', (value) => {
    const r = new SecretRedactor();
    expect(value.length).toBeLessThan(MIN_SECRET_LENGTH);
    expect(r.add(value)).toBe(false);
    expect(r.size).toBe(0);
    expect(r.redact('abc abcd')).toBe('abc abcd');
  });

  it('ignores null and undefined', () => {
    const r = new SecretRedactor();
    expect(r.add(null)).toBe(false);
    expect(r.add(undefined)).toBe(false);
  });

  it('registers values of exactly MIN_SECRET_LENGTH', () => {
    const r = new SecretRedactor();
    expect(r.add('wxyz')).toBe(true);
    expect(r.redact('wxyz')).toBe(REDACTED);
  });

  it('redacts a short value registered after the redactor was first used', () => {
    const r = new SecretRedactor();
    expect(r.redact('abc')).toBe('abc');
    r.add('q9z!');
    expect(r.redact('q9z!')).toBe(REDACTED);
    expect(r.redact('%q9z!')).toBe(`%${REDACTED}`);
  });

  it('removes the longer of two overlapping secrets whole', () => {
    const r = new SecretRedactor();
    r.add('abcdefgh');
    r.add('abcdefgh-tail-1234');
    expect(r.redact('x abcdefgh-tail-1234 y')).toBe(`x ${REDACTED} y`);
  });

  it('treats regex metacharacters in secrets literally', () => {
    const r = new SecretRedactor();
    r.add('a.b*c+(d)?');
    expect(r.redact('a.b*c+(d)?')).toBe(REDACTED);
    expect(r.redact('aXbbbc+d')).toBe('aXbbbc+d');
  });

  it('also catches URL-encoded and JSON-escaped spellings', () => {
    const r = new SecretRedactor();
    const secret = 'p@ss w/"quote"&x';
    r.add(secret);
    expect(r.redact(`/x?key=${encodeURIComponent(secret)}`)).toBe(`/x?key=${REDACTED}`);
    expect(r.redact(JSON.stringify({ key: secret }))).toBe(`{"key":"${REDACTED}"}`);
  });

  it('registers the base64 form of Basic credentials and the password', () => {
    const r = new SecretRedactor();
    r.addBasicCredentials('svc-user', 'hunter2-pass');
    const header = `Basic ${Buffer.from('svc-user:hunter2-pass').toString('base64')}`;
    expect(r.redact(`authorization=${header}`)).not.toContain(Buffer.from('svc-user:hunter2-pass').toString('base64'));
    expect(r.redact('pw is hunter2-pass')).toBe(`pw is ${REDACTED}`);
    // the user name alone is not a secret
    expect(r.redact('user svc-user')).toBe('user svc-user');
  });

  it('forgets removed values but keeps a value registered twice until removed twice', () => {
    const r = new SecretRedactor();
    r.add('shared-secret');
    r.add('shared-secret');
    r.remove('shared-secret');
    expect(r.redact('shared-secret')).toBe(REDACTED);
    r.remove('shared-secret');
    expect(r.redact('shared-secret')).toBe('shared-secret');
    expect(r.size).toBe(0);
  });

  it('clear() forgets everything', () => {
    const r = new SecretRedactor();
    r.add('one-secret');
    r.add('two-secret');
    r.clear();
    expect(r.redact('one-secret two-secret')).toBe('one-secret two-secret');
  });
});

describe('SecretRedactor token shapes (unregistered)', () => {
  const r = new SecretRedactor();
  it.each([
    ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig', `Authorization: Bearer ${REDACTED}`],
    ['sent Basic dXNlcjpwYXNzd29yZA== upstream', `sent Basic ${REDACTED} upstream`],
    ['vault token hvs.CAESIJlU0uXL2dbz9w1sZ4bk8Fz7 expired', `vault token ${REDACTED} expired`],
    ['legacy s.AbCdEfGhIjKlMnOpQrStUvWx here', `legacy ${REDACTED} here`],
    [`token spt_abc123_${'A'.repeat(43)} used`, `token spt_abc123_${REDACTED} used`],
    // Each shape at the shortest it can be, the whole text: no length shortcut may skip them.
    ['Basic abcdefgh', `Basic ${REDACTED}`],
    ['bearer abcdefgh', `bearer ${REDACTED}`],
    [`hvs.${'a'.repeat(20)}`, REDACTED],
    [`s.${'A'.repeat(24)}`, REDACTED],
    [`spt_a_${'b'.repeat(16)}`, `spt_a_${REDACTED}`],
  ])('%s', (input, expected) => {
    expect(r.redact(input)).toBe(expected);
  });

  it('leaves ordinary text alone', () => {
    expect(r.redact('GET /forward/github/repos took 12ms')).toBe('GET /forward/github/repos took 12ms');
  });
});

describe('SecretRedactor.isSensitiveKey', () => {
  const r = new SecretRedactor();
  it.each([
    'authorization',
    'Authorization',
    'proxy-authorization',
    'X-Vault-Token',
    'x-vault-token',
    'client_token',
    'token',
    'accessToken',
    'secret_id',
    'secretId',
    'password',
    'apiKey',
    'api-key',
    'API_KEY',
    'cookie',
    'set-cookie',
    'credentials',
  ])('%s is sensitive', (key) => {
    expect(r.isSensitiveKey(key)).toBe(true);
  });

  it.each(['tokenId', 'secretMs', 'secretPath', 'errorCode', 'service', 'path', 'status', 'requestId'])('%s is logged', (key) => {
    expect(r.isSensitiveKey(key)).toBe(false);
  });

  it('accepts extra safe keys per instance without changing the defaults', () => {
    const custom = new SecretRedactor({ safeKeys: ['tokenCount'] });
    expect(custom.isSensitiveKey('tokenCount')).toBe(false);
    expect(custom.isSensitiveKey('tokenId')).toBe(false);
    expect(custom.isSensitiveKey('token')).toBe(true);
    expect(r.isSensitiveKey('tokenCount')).toBe(true);
  });
});
