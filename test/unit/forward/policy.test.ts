import { compilePolicy } from '../../../proxy/src/forward/policy';

describe('compilePolicy', () => {
  const open = compilePolicy('open', {});
  const strict = compilePolicy('gh', { methods: ['GET', 'POST'], paths: ['/users/*', '/repos/**', '/exact'] });

  const cases: Array<[string, string, string, string | null]> = [
    ['open service allows anything', 'DELETE', '/any/thing', null],
    ['open service allows the base itself', 'GET', '', null],
    ['allowed method and path', 'GET', '/users/42', null],
    ['glob * matches one segment', 'POST', '/users/me', null],
    ['glob * does not cross segments', 'GET', '/users/42/keys', 'PATH_NOT_ALLOWED'],
    ['glob ** crosses segments', 'GET', '/repos/a/b/c', null],
    ['glob ** matches its own base', 'GET', '/repos', null],
    ['dot names match *', 'GET', '/users/.well-known', null],
    ['exact path', 'GET', '/exact', null],
    ['exact path does not match a child', 'GET', '/exact/child', 'PATH_NOT_ALLOWED'],
    ['outside the allowlist', 'GET', '/admin', 'PATH_NOT_ALLOWED'],
    ['the base when not listed', 'GET', '', 'PATH_NOT_ALLOWED'],
    ['percent-encoded path matched decoded', 'GET', '/users/j%C3%BCrgen', null],
    ['percent-encoded prefix matched decoded', 'GET', '/%75sers/42', null],
    ['malformed escape is matched as sent', 'GET', '/users/%zz', null],
    ['method not allowed', 'DELETE', '/users/42', 'METHOD_NOT_ALLOWED'],
    ['method checked before path', 'PUT', '/admin', 'METHOD_NOT_ALLOWED'],
    ['HEAD is not implied by GET', 'HEAD', '/users/42', 'METHOD_NOT_ALLOWED'],
  ];

  it.each(cases)('%s', (name, method, path, code) => {
    const policy = name.startsWith('open') ? open : strict;
    expect(policy.check(method, path)?.code ?? null).toBe(code);
  });

  it('405 carries an Allow header and names the allowed methods', () => {
    const err = strict.check('DELETE', '/users/1');
    expect(err).toMatchObject({ status: 405, source: 'proxy', headers: { allow: 'GET, POST' } });
    expect(err?.message).toMatch(/allows only GET, POST; got DELETE/);
  });

  it('403 names the service and the allowed patterns, with a bounded excerpt of the path', () => {
    const err = strict.check('GET', `/admin/${'x'.repeat(5000)}`);
    expect(err).toMatchObject({ code: 'PATH_NOT_ALLOWED', status: 403 });
    expect(err?.message).toContain("Service 'gh'");
    expect(err?.message).toContain('/users/*, /repos/**, /exact');
    expect((err?.message ?? '').length).toBeLessThan(300);
  });

  it('exposes the compiled lists', () => {
    expect(strict.methods).toEqual(['GET', 'POST']);
    expect(open.methods).toBeNull();
    expect(open.paths).toBeNull();
  });
});
