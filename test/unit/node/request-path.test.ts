import {
  checkServiceName,
  findPathProblem,
  forwardPath,
  normalizeServicePath,
  PATH_HINT,
  splitServicePath,
} from '../../../nodes/SecureProxyRequest/request/path';

const fail = (message: string, description?: string): never => {
  throw new Error(`${message} | ${description ?? ''}`);
};

describe('path relative to the service', () => {
  it.each([
    ['/users/42', '/users/42', ''],
    ['users/42', '/users/42', ''],
    ['host.com/x', '/host.com/x', ''],
    ['/search?q=n8n&page=2', '/search', 'q=n8n&page=2'],
    ['', '', ''],
    ['/', '/', ''],
    ['  /trimmed  ', '/trimmed', ''],
    ['/files/my report.pdf', '/files/my%20report.pdf', ''],
    ['/q?name=Zoë', '/q', 'name=Zo%C3%AB'],
    ['/a..b/c.d/...', '/a..b/c.d/...', ''],
    ['/v1/projects/p:run', '/v1/projects/p:run', ''],
    ['/.well-known/x', '/.well-known/x', ''],
  ])('accepts %j as %j ? %j', (input, path, query) => {
    expect(splitServicePath(input, fail)).toEqual({ path, query });
  });

  it.each([
    ['http://evil.example/x', /full URL/],
    ['https://api.example.com/users', /full URL/],
    ['HTTPS://api.example.com', /full URL/],
    ['ftp://x/y', /full URL/],
    ['javascript:alert(1)', /full URL/],
    ['//evil.example/x', /names a host/],
    ['\\\\evil.example\\x', /names a host/],
    ['/\\evil.example', /names a host/],
    ['/a\\b', /backslash/],
    ['/../other-service/x', /"\." or "\.\." segment/],
    ['/a/..', /segment/],
    ['/a/./b', /segment/],
    ['/a/%2e%2e/b', /segment/],
    ['/a/%252E./b', /segment/],
    ['/a#frag', /contains "#"/],
  ])('refuses %j', (input, reason) => {
    const problem = findPathProblem(input);
    expect(problem?.message).toMatch(reason);
    expect(() => splitServicePath(input, fail)).toThrow(reason);
  });

  it('tells the user what to write instead of a URL', () => {
    expect(findPathProblem('http://api.example.com/users/42')?.description).toContain(PATH_HINT);
    expect(PATH_HINT).toBe('Write the path relative to the service, like /users/42; the proxy adds the host.');
  });

  it('builds the proxy-relative URL', () => {
    expect(forwardPath({ service: 'github', path: '/repos/x', query: 'page=2' })).toBe('/forward/github/repos/x?page=2');
    expect(forwardPath({ service: 'github', path: '', query: '' })).toBe('/forward/github');
    expect(normalizeServicePath('x?')).toEqual({ path: '/x', query: '' });
  });
});

describe('service name', () => {
  it.each(['github', 'echo-2', 'a.b_c', 'X1'])('accepts %j', (name) => {
    expect(checkServiceName(` ${name} `, fail)).toBe(name);
  });
  it.each([
    ['', /No service selected/],
    ['github/repos', /not a service name/],
    ['http://x', /not a service name/],
    ['..', /not a service name/],
    ['-x', /not a service name/],
    ['a b', /not a service name/],
    ['x'.repeat(65), /not a service name/],
  ])('refuses %j', (name, reason) => {
    expect(() => checkServiceName(name, fail)).toThrow(reason);
  });
});
