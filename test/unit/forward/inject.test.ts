import type { InjectConfig } from '../../../proxy/src/config/schema';
import { ProxyError } from '../../../proxy/src/contract/proxy-error';
import { compileInjector, INJECTION_TYPES, redactInjection, replaceQueryParam, type Injection } from '../../../proxy/src/forward/inject';
import { compileTemplate } from '../../../proxy/src/forward/inject/header';
import type { SecretData } from '../../../proxy/src/secrets/types';

const PATH = 'secret/team/svc';
const CANARY = 'CANARY-7f3a9c-s3cr3t';

function injectionError(inject: InjectConfig, secret: SecretData): ProxyError {
  try {
    // Static types throw at once (only oauth2 answers with a promise).
    void compileInjector(inject, PATH).apply(secret);
  } catch (err) {
    if (err instanceof ProxyError) return err;
    throw err;
  }
  throw new Error('expected the injection to fail');
}

describe('injectors', () => {
  const cases: Array<
    [string, InjectConfig, SecretData, { headers: Array<[string, string]>; query: [string, string] | null; queryString: string | null; secretValues: string[] }]
  > = [
    [
      'bearer',
      { type: 'bearer', field: 'token' },
      { token: 'abc123' },
      { headers: [['authorization', 'Bearer abc123']], query: null, queryString: null, secretValues: ['abc123'] },
    ],
    [
      'bearer from another field',
      { type: 'bearer', field: 'api_key' },
      { api_key: 'k', token: 'ignored' },
      { headers: [['authorization', 'Bearer k']], query: null, queryString: null, secretValues: ['k'] },
    ],
    [
      'header with the default template',
      { type: 'header', name: 'X-API-Key', template: '{{token}}' },
      { token: 'abc' },
      { headers: [['x-api-key', 'abc']], query: null, queryString: null, secretValues: ['abc'] },
    ],
    [
      'header with literals and two fields',
      { type: 'header', name: 'Authorization', template: 'Token {{ id }}:{{secret}}' },
      { id: 'me', secret: 'pw' },
      { headers: [['authorization', 'Token me:pw']], query: null, queryString: null, secretValues: ['me', 'pw', 'Token me:pw'] },
    ],
    [
      'basic',
      { type: 'basic', usernameField: 'username', passwordField: 'password' },
      { username: 'alice', password: 'p@ss wörd' },
      {
        headers: [['authorization', `Basic ${Buffer.from('alice:p@ss wörd', 'utf8').toString('base64')}`]],
        query: null,
        queryString: null,
        secretValues: ['p@ss wörd', Buffer.from('alice:p@ss wörd', 'utf8').toString('base64')],
      },
    ],
    [
      'query',
      { type: 'query', param: 'api_key', field: 'token' },
      { token: 'a b&c=d' },
      { headers: [], query: ['api_key', 'a b&c=d'], queryString: 'api_key=a%20b%26c%3Dd', secretValues: ['a b&c=d', 'a%20b%26c%3Dd'] },
    ],
    [
      'query with a parameter name needing encoding',
      { type: 'query', param: 'key[]', field: 'token' },
      { token: 't' },
      { headers: [], query: ['key[]', 't'], queryString: 'key%5B%5D=t', secretValues: ['t'] },
    ],
  ];

  it.each(cases)('%s', (_name, inject, secret, expected) => {
    // Static types answer at once (only oauth2 answers with a promise).
    const injection = compileInjector(inject, PATH).apply(secret) as Injection;
    expect({
      headers: injection.headers.map(([n, v]) => [n, v]),
      query: injection.query ? [...injection.query] : null,
      queryString: injection.queryString,
      secretValues: [...injection.secretValues],
    }).toEqual(expected);
  });

  const failures: Array<[string, InjectConfig, SecretData, RegExp]> = [
    ['bearer field missing', { type: 'bearer', field: 'token' }, { other: CANARY }, /no field 'token'; its field is 'other'\./],
    ['bearer field empty', { type: 'bearer', field: 'token' }, { token: '' }, /field 'token' is empty/],
    ['bearer value with trailing newline', { type: 'bearer', field: 'token' }, { token: `${CANARY}\n` }, /field 'token' contains a line break/],
    ['bearer value with CR', { type: 'bearer', field: 'token' }, { token: `${CANARY}\r` }, /line break/],
    ['bearer value with NUL', { type: 'bearer', field: 'token' }, { token: `a\u0000${CANARY}` }, /control character/],
    ['bearer value outside latin-1', { type: 'bearer', field: 'token' }, { token: `${CANARY}✓` }, /not allowed in an HTTP header/],
    ['header field missing', { type: 'header', name: 'X-Key', template: 'K {{key}} {{other}}' }, { key: CANARY }, /no field 'other'/],
    ['header value with LF', { type: 'header', name: 'X-Key', template: '{{key}}' }, { key: `x\n${CANARY}` }, /field 'key' contains a line break/],
    ['basic username missing', { type: 'basic', usernameField: 'user', passwordField: 'pass' }, { pass: CANARY }, /no field 'user'/],
    ['basic password missing', { type: 'basic', usernameField: 'user', passwordField: 'pass' }, { user: 'u' }, /no field 'pass'/],
    ['basic password with newline', { type: 'basic', usernameField: 'user', passwordField: 'pass' }, { user: 'u', pass: `${CANARY}\n` }, /field 'pass'/],
    ['basic username with colon', { type: 'basic', usernameField: 'user', passwordField: 'pass' }, { user: `a:${CANARY}`, pass: 'p' }, /contains ':'/],
    ['query field missing', { type: 'query', param: 'k', field: 'token' }, {}, /no field 'token'; it has no fields\./],
    ['query value with NUL', { type: 'query', param: 'k', field: 'token' }, { token: `${CANARY}\u0000` }, /control character/],
    ['query value with a lone surrogate', { type: 'query', param: 'k', field: 'token' }, { token: `${CANARY}\ud800` }, /not valid Unicode/],
  ];

  it.each(failures)('%s → SECRET_FIELD_MISSING naming field and path, never the value', (_name, inject, secret, message) => {
    const err = injectionError(inject, secret);
    expect(err.code).toBe('SECRET_FIELD_MISSING');
    expect(err.status).toBe(502);
    expect(err.source).toBe('vault');
    expect(err.message).toMatch(message);
    expect(err.message).toContain(PATH);
    expect(err.message).not.toContain(CANARY);
    expect(err.message).not.toContain('7f3a9c');
  });

  it("a missing field's message lists the names of the fields the secret has (sorted, at most 20), suggests the closest, never a value", () => {
    const typo = injectionError({ type: 'bearer', field: 'token' }, { tokne: CANARY, user: 'automation' });
    expect(typo.message).toBe(
      `Secret '${PATH}' has no field 'token' (did you mean 'tokne'?); its fields are 'tokne', 'user'. Add the field in Vault or fix the service's inject config.`,
    );
    const many = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`f${String(i).padStart(2, '0')}`, `${CANARY}${i}`]));
    const long = injectionError({ type: 'basic', usernameField: 'user', passwordField: 'pass' }, many);
    expect(long.message).toContain("its fields are 'f00', 'f01'");
    expect(long.message).toContain("'f19' and 5 more.");
    expect(long.message).not.toContain("'f20'");
    expect(long.message).not.toContain(CANARY);
  });

  it('does not read fields from the prototype chain', () => {
    const err = injectionError({ type: 'bearer', field: 'constructor' }, {});
    expect(err.code).toBe('SECRET_FIELD_MISSING');
  });

  it('computes an injection once per secret object and freezes it', () => {
    const injector = compileInjector({ type: 'basic', usernameField: 'u', passwordField: 'p' }, PATH);
    const secret = Object.freeze({ u: 'a', p: 'b' });
    const first = injector.apply(secret) as Injection;
    expect(injector.apply(secret)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.headers)).toBe(true);
    expect(Object.isFrozen(first.headers[0])).toBe(true);
    // A new secret object (the cache read a new value) gets a new injection.
    const rotated = injector.apply(Object.freeze({ u: 'a', p: 'c' })) as Injection;
    expect(rotated).not.toBe(first);
    expect(rotated.headers[0]?.[1]).toBe(`Basic ${Buffer.from('a:c').toString('base64')}`);
  });

  it('remembers a failing secret and throws the same error again', () => {
    const injector = compileInjector({ type: 'bearer', field: 'token' }, PATH);
    const secret = Object.freeze({});
    const first = (() => {
      try {
        void injector.apply(secret);
      } catch (err) {
        return err;
      }
      return null;
    })();
    expect(first).toBeInstanceOf(ProxyError);
    expect(() => injector.apply(secret)).toThrow(first as Error);
  });

  it('has a strategy for every inject type', () => {
    expect(Object.keys(INJECTION_TYPES).sort()).toEqual(['basic', 'bearer', 'header', 'query']);
  });
});

describe('redactInjection', () => {
  const cases: Array<[InjectConfig, string]> = [
    [{ type: 'bearer', field: 'token' }, "bearer token from field 'token'"],
    [{ type: 'header', name: 'X-API-Key', template: 'Key {{token}}' }, "header 'X-API-Key' from field 'token'"],
    [{ type: 'header', name: 'Authorization', template: '{{a}}:{{b}}:{{a}}' }, "header 'Authorization' from fields 'a', 'b'"],
    [{ type: 'basic', usernameField: 'user', passwordField: 'pass' }, "basic auth from fields 'user' and 'pass'"],
    [{ type: 'query', param: 'api_key', field: 'token' }, "query parameter 'api_key' from field 'token'"],
  ];
  it.each(cases)('%j → %s', (inject, description) => {
    expect(redactInjection(inject)).toBe(description);
    expect(compileInjector(inject).description).toBe(description);
  });
});

describe('compileTemplate', () => {
  it.each([
    ['{{token}}', [{ field: 'token' }]],
    ['Token {{token}}', [{ literal: 'Token ' }, { field: 'token' }]],
    ['{{ a }}-{{b}}!', [{ field: 'a' }, { literal: '-' }, { field: 'b' }, { literal: '!' }]],
    ['{{a.b-c_d}}', [{ field: 'a.b-c_d' }]],
  ])('%s', (template, parts) => {
    expect(compileTemplate(template)).toEqual(parts);
  });

  it('refuses a literal that cannot be in a header', () => {
    expect(() => compileTemplate('Token\r\n{{token}}')).toThrow(/not allowed in an HTTP header value/);
  });
});

describe('replaceQueryParam', () => {
  const PAIR = 'api_key=SECRET';
  const cases: Array<[string, string, string]> = [
    ['no client query', '', PAIR],
    ['other parameters kept byte for byte', 'b=%20x&a=1+2&c', `b=%20x&a=1+2&c&${PAIR}`],
    ['client value replaced', 'api_key=mine', PAIR],
    ['every occurrence replaced', 'api_key=1&x=2&api_key=3&api_key', `x=2&${PAIR}`],
    ['encoded name replaced', 'api%5Fkey=mine&x=1', `x=1&${PAIR}`],
    ['encoded name, lower-case escape', 'api%5fkey=mine', PAIR],
    ['similar names kept', 'api_key2=1&xapi_key=2&api_keys=3', `api_key2=1&xapi_key=2&api_keys=3&${PAIR}`],
    ['empty pieces kept', 'a=1&&b=2', `a=1&&b=2&${PAIR}`],
    ['malformed escapes kept', 'a=%zz&%E0%A4%A=1', `a=%zz&%E0%A4%A=1&${PAIR}`],
  ];
  it.each(cases)('%s', (_name, query, expected) => {
    expect(replaceQueryParam(query, 'api_key', PAIR)).toBe(expected);
  });

  it("reads '+' as a space in names", () => {
    expect(replaceQueryParam('my+key=1&z=2', 'my key', 'my%20key=S')).toBe('z=2&my%20key=S');
  });
});
