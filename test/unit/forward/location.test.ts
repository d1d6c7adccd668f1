import { compileLocationRewriter } from '../../../proxy/src/forward/location';

describe('compileLocationRewriter', () => {
  const atRoot = compileLocationRewriter({ service: 'svc', target: 'http://api.example.com' });
  const withBase = compileLocationRewriter({ service: 'svc', target: 'https://api.example.com:8443/v2' });
  const withSlashBase = compileLocationRewriter({ service: 'svc', target: 'https://api.example.com:8443/v2/' });
  const publicUrl = compileLocationRewriter({ service: 'svc', target: 'http://api.example.com/v2', publicUrl: 'https://proxy.example.org/sp/' });

  const cases: Array<[string, (l: string) => string, string, string]> = [
    ['path-absolute at root', atRoot, '/users/1?x=1#f', '/forward/svc/users/1?x=1#f'],
    ['absolute same origin at root', atRoot, 'http://api.example.com/a', '/forward/svc/a'],
    ['default port is the same origin', atRoot, 'http://api.example.com:80/a', '/forward/svc/a'],
    ['host case does not matter', atRoot, 'http://API.Example.com/a', '/forward/svc/a'],
    ['other host passes through', atRoot, 'https://login.example.com/a', 'https://login.example.com/a'],
    ['other scheme passes through', atRoot, 'https://api.example.com/a', 'https://api.example.com/a'],
    ['other port passes through', atRoot, 'http://api.example.com:81/a', 'http://api.example.com:81/a'],
    ['protocol-relative to the target is rewritten', atRoot, '//api.example.com/a', '/forward/svc/a'],
    ['protocol-relative elsewhere passes through', atRoot, '//evil.example/a', '//evil.example/a'],
    ['backslash trick elsewhere passes through', atRoot, '/\\evil.example/a', '/\\evil.example/a'],
    ['relative reference passes through', atRoot, 'next?page=2', 'next?page=2'],
    ['dot-relative passes through', atRoot, '../up', '../up'],
    ['query-only passes through', atRoot, '?page=2', '?page=2'],
    ['non-http scheme passes through', atRoot, 'mailto:a@example.com', 'mailto:a@example.com'],
    ['base path: inside, path-absolute', withBase, '/v2/items/9', '/forward/svc/items/9'],
    ['base path: inside, absolute', withBase, 'https://api.example.com:8443/v2/items', '/forward/svc/items'],
    ['base path: the base itself', withBase, 'https://api.example.com:8443/v2', '/forward/svc'],
    ['base path: the base with a slash', withBase, '/v2/', '/forward/svc/'],
    ['base path: the base with a query', withBase, '/v2?x=1', '/forward/svc?x=1'],
    ['base path: outside', withBase, '/v1/items', '/v1/items'],
    ['base path: prefix of a segment is outside', withBase, '/v2beta/items', '/v2beta/items'],
    ['base path: dot segments leaving the base are outside', withBase, '/v2/../admin', '/v2/../admin'],
    ['base with trailing slash behaves the same', withSlashBase, '/v2/items', '/forward/svc/items'],
    ['publicUrl is prefixed', publicUrl, 'http://api.example.com/v2/x', 'https://proxy.example.org/sp/forward/svc/x'],
    ['publicUrl leaves outside locations alone', publicUrl, 'http://other.example/v2/x', 'http://other.example/v2/x'],
  ];

  it.each(cases)('%s', (_name, rewrite, location, expected) => {
    expect(rewrite(location)).toBe(expected);
  });

  it('leaves an unparsable location alone', () => {
    expect(atRoot('http://[::1')).toBe('http://[::1');
  });
});
