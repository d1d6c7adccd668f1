/**
 * The pieces of the signed injection types that need no peer: the SigV4 query canonical form,
 * the inject config shapes and their refusals, and the OAuth2 token cache on a fake clock.
 */
import { buildConfig } from '../../../proxy/src/config/load';
import { ConfigError } from '../../../proxy/src/config/errors';
import { ProxyError } from '../../../proxy/src/contract/proxy-error';
import { TokenBroker, type Injection } from '../../../proxy/src/forward/inject';
import { usableLifeMs, type CachedToken } from '../../../proxy/src/forward/inject/oauth2/broker';
import { canonicalPath, canonicalQuery, parseQueryForSigning } from '../../../proxy/src/forward/inject/sigv4';

describe('SigV4 query canonical form', () => {
  it.each([
    ['', ''],
    ['b=2&a=1', 'a=1&b=2'],
    ['a=1&a=0', 'a=0&a=1'],
    ['bare&empty=', 'bare=&empty='],
    ['sp=a%20b', 'sp=a%20b'],
    ['plus=a+b', 'plus=a%2Bb'],
    ['star=*&bang=!&paren=(x)&quote=%27', 'bang=%21&paren=%28x%29&quote=%27&star=%2A'],
    ['tilde=~&dash=-_.', 'dash=-_.&tilde=~'],
    ['slash=%2F&raw=/', 'raw=%2F&slash=%2F'],
    ['utf=%C3%A9', 'utf=%C3%A9'],
    ['&&a=1&', 'a=1'],
    ['list-type=2&prefix=data%2F', 'list-type=2&prefix=data%2F'],
  ])('%j → %j', (query, expected) => {
    expect(canonicalQuery(parseQueryForSigning(query))).toBe(expected);
  });

  it.each(['a=%zz', 'a=%E0%A4', '%=1'])('refuses the malformed escape in %j with PATH_REJECTED', (query) => {
    let thrown: unknown = null;
    try {
      parseQueryForSigning(query);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ProxyError);
    expect((thrown as ProxyError).code).toBe('PATH_REJECTED');
  });
});

describe('SigV4 path canonical form', () => {
  it.each([
    ['', ''],
    ['/items', '/items'],
    ['/a b/c', '/a%20b/c'],
    ['/a%20b/(1)*!', '/a%20b/%281%29%2A%21'],
    ['/x%2Fy', '/x%2Fy'],
    ['/plus+/~tilde', '/plus%2B/~tilde'],
    ['/%c3%a9', '/%C3%A9'],
  ])('%j → %j', (path, expected) => {
    expect(canonicalPath(path)).toBe(expected);
  });

  it('refuses a malformed escape with PATH_REJECTED', () => {
    expect(() => canonicalPath('/a%zz')).toThrow(expect.objectContaining({ code: 'PATH_REJECTED' }));
  });
});

describe('signed inject config', () => {
  const base = {
    vault: { address: 'http://127.0.0.1:8200', auth: { method: 'token', token: 't' } },
    clients: {},
  };
  const build = (inject: Record<string, unknown>) =>
    buildConfig({ ...base, services: { svc: { target: 'https://api.example.com', secret: 'svc', inject } } }, {});
  const issuesOf = (inject: Record<string, unknown>): string[] => {
    try {
      build(inject);
    } catch (err) {
      if (err instanceof ConfigError) return [...err.issues];
      throw err;
    }
    throw new Error('expected a ConfigError');
  };

  it('fills the defaults of each type', () => {
    expect(build({ type: 'oauth2', grant: 'client_credentials', tokenUrl: 'https://auth.example.com/token' }).services.svc.inject).toEqual({
      type: 'oauth2',
      grant: 'client_credentials',
      tokenUrl: 'https://auth.example.com/token',
      clientAuth: 'basic',
      clientIdField: 'client_id',
      clientSecretField: 'client_secret',
      refreshTokenField: 'refresh_token',
    });
    expect(build({ type: 'aws-sigv4', region: 'eu-west-1', service: 's3' }).services.svc.inject).toMatchObject({
      payload: 'signed',
      accessKeyIdField: 'access_key_id',
      secretAccessKeyField: 'secret_access_key',
      sessionTokenField: 'session_token',
    });
    expect(build({ type: 'hmac' }).services.svc.inject).toEqual({ type: 'hmac', field: 'key', header: 'X-Signature', timestampHeader: 'X-Timestamp' });
  });

  it.each([
    ['an unknown grant', { type: 'oauth2', grant: 'password', tokenUrl: 'https://a.example/t' }, /inject\.grant: must be client_credentials or refresh_token/],
    [
      'a token URL with credentials',
      { type: 'oauth2', grant: 'client_credentials', tokenUrl: 'https://u:p@a.example/t' },
      /inject\.tokenUrl must not carry credentials/,
    ],
    [
      'an unknown client authentication',
      { type: 'oauth2', grant: 'client_credentials', tokenUrl: 'https://a.example/t', clientAuth: 'jwt' },
      /inject\.clientAuth: must be basic or body/,
    ],
    ['a region that is not one', { type: 'aws-sigv4', region: 'EU West', service: 's3' }, /inject\.region: must be an AWS region/],
    ['an unknown payload mode', { type: 'aws-sigv4', region: 'eu-west-1', service: 's3', payload: 'streaming' }, /inject\.payload: must be signed or unsigned/],
    ['one header for signature and timestamp', { type: 'hmac', header: 'X-Sig', timestampHeader: 'x-sig' }, /inject\.timestampHeader: must differ from header/],
    ['a reserved header', { type: 'hmac', header: 'Content-Length' }, /inject\.header: is reserved/],
  ])('refuses %s, naming the field', (_name, inject, expected) => {
    expect(issuesOf(inject)).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });
});

describe('the OAuth2 token cache', () => {
  let now = 0;
  const injection = (n: number): Injection =>
    Object.freeze({ headers: [['authorization', `Bearer t${n}`] as const], query: null, queryString: null, secretValues: [`t${n}`] });
  const LIFETIME = 100_000;

  /** A mint that resolves when told to, counting its calls. */
  function mints(): { mint: (reason: 'mint' | 'refresh') => Promise<CachedToken>; calls: string[]; settle(error?: Error): void } {
    const calls: string[] = [];
    const pending: Array<{ resolve: (t: CachedToken) => void; reject: (e: Error) => void; n: number }> = [];
    return {
      calls,
      mint(reason) {
        calls.push(reason);
        return new Promise((resolve, reject) => pending.push({ resolve, reject, n: calls.length }));
      },
      settle(error) {
        const next = pending.shift()!;
        if (error === undefined) next.resolve({ injection: injection(next.n), lifetimeMs: LIFETIME });
        else next.reject(error);
      },
    };
  }

  beforeEach(() => {
    now = 0;
  });

  it('mints once for concurrent misses and then answers without a promise', async () => {
    const broker = new TokenBroker({ now: () => now });
    const m = mints();
    const waiting = Array.from({ length: 20 }, () => Promise.resolve(broker.get('k', m.mint)));
    expect(m.calls).toEqual(['mint']);
    m.settle();
    const tokens = await Promise.all(waiting);
    expect(new Set(tokens).size).toBe(1);
    expect(broker.get('k', m.mint)).toBe(tokens[0]);
  });

  it('renews in the background once three quarters of the usable life passed, and waits only once it is used up', async () => {
    const broker = new TokenBroker({ now: () => now });
    const m = mints();
    const first = broker.get('k', m.mint);
    m.settle();
    const t1 = await first;
    now = usableLifeMs(LIFETIME) * 0.75;
    expect(broker.get('k', m.mint)).toBe(t1); // still the old one, a refresh started
    expect(m.calls).toEqual(['mint', 'refresh']);
    expect(broker.get('k', m.mint)).toBe(t1); // no second refresh while one runs
    m.settle();
    await new Promise((resolve) => setImmediate(resolve));
    const t2 = broker.get('k', m.mint);
    expect(t2).not.toBe(t1);
    now += usableLifeMs(LIFETIME);
    const third = broker.get('k', m.mint);
    expect(third).toBeInstanceOf(Promise);
    m.settle();
    expect(await third).not.toBe(t2);
  });

  it('keeps at least a second and at most 30 s of margin before the end', () => {
    expect(usableLifeMs(2_000)).toBe(1_000);
    expect(usableLifeMs(100_000)).toBe(90_000);
    expect(usableLifeMs(3_600_000)).toBe(3_570_000);
  });

  it('drops a refused token once, whoever hands it back, and shares a failure with every waiter', async () => {
    const broker = new TokenBroker({ now: () => now });
    const m = mints();
    const first = broker.get('k', m.mint);
    m.settle();
    const t1 = await first;
    expect(broker.reject(injection(99))).toBe(false); // not one of this broker's
    expect(broker.reject(t1)).toBe(true);
    const a = broker.get('k', m.mint);
    const b = broker.get('k', m.mint);
    m.settle(new Error('refused'));
    await expect(a).rejects.toThrow('refused');
    await expect(b).rejects.toThrow('refused');
    const retry = broker.get('k', m.mint);
    m.settle();
    expect(await retry).not.toBe(t1);
    expect(m.calls).toEqual(['mint', 'mint', 'mint']);
  });
});
