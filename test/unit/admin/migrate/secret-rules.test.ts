/**
 * The secret rules one value at a time: formats, key-like names, and the placeholders and
 * references that must never raise an alarm. Fake secrets are built from pieces at run time.
 */
import { randomInt } from 'node:crypto';
import { expressionParts, stringLiterals } from '../../../../proxy/src/admin/migrate/literals';
import { isPlaceholder } from '../../../../proxy/src/admin/migrate/placeholders';
import { isKeyLikeName, matchSecret } from '../../../../proxy/src/admin/migrate/secret-rules';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const random = (length: number, alphabet = ALNUM) => Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
const stripe = () => ['sk', 'live', `4eC39HqLyjWDarjtT1zdp7dc${random(8)}`].join('_');

describe('matchSecret', () => {
  it.each([
    ['a Stripe key alone', () => stripe(), null, 'stripe-key'],
    ['a Stripe key after Bearer', () => `Bearer ${stripe()}`, 'Authorization', 'stripe-key'],
    ['a GitHub token', () => `gh${'p'}_${random(36)}`, null, 'github-token'],
    ['an AWS access key id', () => `AK${'IA'}${random(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`, null, 'aws-access-key-id'],
    ['an AWS secret key under its name', () => random(40), 'AWS_SECRET_ACCESS_KEY', 'aws-secret-access-key'],
    ['a random value under x-api-key', () => random(32), 'x-api-key', 'generic-secret'],
    ['a hex key under apiKey', () => random(40, '0123456789abcdef'), 'apiKey', 'generic-secret'],
    ['a password under password', () => `Hunter${random(6)}42`, 'db_password', 'password'],
    ['Basic credentials', () => `Basic ${Buffer.from(`ops:${random(18)}`).toString('base64')}`, 'Authorization', 'basic-credentials'],
  ])('finds %s', (_label, value, name, kind) => {
    expect(matchSecret(value(), name)?.kind).toBe(kind);
  });

  it.each([
    ['YOUR_API_KEY', 'api_key'],
    ['<token>', 'token'],
    ['xxx', 'secret'],
    ['changeme', 'password'],
    ['{{access_token}}', 'access_token'],
    ['Bearer {{ $json.token }}', 'Authorization'],
    ['sk_live_xxxxxxxxxxxxxxxxxxxxxxxx', 'key'],
    ['AKIAIOSFODNN7EXAMPLE', 'aws_access_key_id'],
    ['Bearer <your-token-here>', 'Authorization'],
    ['********', 'password'],
    ['application/json', 'Accept'],
    ['2024-06-20', 'Stripe-Version'],
    ['https://docs.example.com/api/keys', 'apiKeyDocs'],
    ['getUserProfileWithSettings', 'token'],
  ])('ignores the placeholder or plain value %s under %s', (value, name) => {
    expect(matchSecret(value, name)).toBeNull();
  });

  it('ignores random values under names that are not credentials', () => {
    for (const name of ['traceId', 'commit', 'etag', 'nextPageToken', 'page_token', 'idempotency-key', 'publishable_key', 'cursor', null]) {
      expect(matchSecret(random(32), name)).toBeNull();
    }
  });

  it('never matches a Stripe publishable key', () => {
    expect(matchSecret(['pk', 'live', random(24)].join('_'), 'publishableKey')).toBeNull();
  });
});

describe('key-like names', () => {
  it.each(['api_key', 'apiKey', 'X-Api-Key', 'Authorization', 'client_secret', 'githubToken', 'openaiApiKey', 'appid', 'PRIVATE_KEY', 'x-auth-token'])(
    '%s is key-like',
    (name) => expect(isKeyLikeName(name)).toBe(true),
  );
  it.each(['author', 'monkey', 'keyboard', 'token_type', 'nextPageToken', 'sortKey', 'keyName', 'tokens_used'])('%s is not', (name) =>
    expect(isKeyLikeName(name)).toBe(false),
  );
});

describe('placeholders', () => {
  it('keeps a random key that merely contains a placeholder word inside a longer token', () => {
    expect(isPlaceholder('q7Rtodoz81LmZpW3')).toBe(false);
    expect(isPlaceholder('your_api_key_here')).toBe(true);
  });
});

describe('string literals', () => {
  it('gives each literal the name it is assigned to', () => {
    const code = [
      "const apiKey = 'a';",
      'const headers = { \'x-api-key\': "b", Authorization: `Bearer ${token}` };',
      "headers['X-Token'] = 'c';",
      "req.set('Authorization', 'd'); // 'not a literal'",
      "/* 'nor this' */ x == 'e';",
    ].join('\n');
    expect(stringLiterals(code, 'javascript')).toEqual([
      { value: 'a', name: 'apiKey' },
      { value: 'x-api-key', name: null },
      { value: 'b', name: 'x-api-key' },
      { value: 'Bearer ', name: 'Authorization' },
      { value: '', name: null },
      { value: 'X-Token', name: null },
      { value: 'c', name: 'X-Token' },
      { value: 'Authorization', name: null },
      { value: 'd', name: 'Authorization' },
      { value: 'e', name: null },
    ]);
  });

  it('reads Python literals, triple quotes and prefixes, and skips comments', () => {
    expect(stringLiterals("API_KEY = f'a' # 'no'\nB = '''b'''\n", 'python')).toEqual([
      { value: 'a', name: 'API_KEY' },
      { value: 'b', name: 'B' },
    ]);
  });

  it('splits an expression into static text, literals and + concatenations', () => {
    expect(expressionParts("Bearer {{ 'sk_' + 'live' }} and {{ $json.x ? 'a' : 'b' }}")).toEqual({
      staticText: ['Bearer ', ' and '],
      literals: [
        { value: 'sk_', name: null },
        { value: 'live', name: null },
        { value: 'a', name: null },
        { value: 'b', name: null },
      ],
      concatenations: ['sk_live'],
    });
  });
});
