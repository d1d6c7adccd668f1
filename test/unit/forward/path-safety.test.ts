import { ProxyError } from '../../../proxy/src/contract/proxy-error';
import { assertSafeTarget, describeNonOriginForm, findUnsafeTarget } from '../../../proxy/src/forward/path-safety';

describe('findUnsafeTarget', () => {
  const safe: string[] = [
    '/',
    '/svc',
    '/svc/',
    '/svc/users/42',
    '/svc/users/42?include=repos&page=2',
    '/svc/files/my%20report.pdf',
    '/svc/.well-known/openid-configuration',
    '/svc/a..b/c.d/...',
    '/svc/v1.2/items',
    '/svc/search/100%25-off',
    '/svc/%E2%9C%93',
    '/svc/x?redirect=%2Fhome%2F..%2F&path=a//b', // the query is opaque: encoded slashes and dots are normal there
    '/svc/x?q=a\\b'.replace('\\', '%5C'),
    '/svc/x;v=1/y',
    '/svc/~user/a+b',
    '/svc/%C3%A9t%C3%A9/%F0%9F%98%80', // UTF-8, two- and four-byte
    '/svc/%e2%82%ac', // lower-case hex
    '/svc/%EF%BC%A1BC', // fullwidth 'A': NFKC makes it a letter, not a delimiter
    '/svc/100%25C3%25A9', // double-encoded é: valid UTF-8 one level down
    '/svc/x?q=%u002e%zz%e0%80%ae', // the query is opaque
  ];
  it.each(safe)('accepts %s', (target) => {
    expect(findUnsafeTarget(target)).toBeNull();
  });

  const unsafe: Array<[string, RegExp]> = [
    // dot segments, raw and encoded in any case and mix
    ['/svc/../admin', /dot segment/],
    ['/svc/..', /dot segment/],
    ['/svc/./x', /dot segment/],
    ['/svc/.', /dot segment/],
    ['/../x', /dot segment/],
    ['/svc/%2e%2e/admin', /dot segment/],
    ['/svc/%2E%2E/admin', /dot segment/],
    ['/svc/%2E./admin', /dot segment/],
    ['/svc/.%2e/admin', /dot segment/],
    ['/svc/%2e/admin', /dot segment/],
    ['/svc/%252e%252e/admin', /dot segment/],
    ['/svc/%25252E%25252e/admin', /dot segment/],
    ['/svc/..;jsessionid=1/admin', /dot segment/],
    ['/svc/..;/admin', /dot segment/],
    ['/svc/x/..?a=b', /dot segment/],
    // encoded slashes and backslashes, any case, double-encoded
    ['/svc/a%2fb', /encoded slash/],
    ['/svc/a%2Fb', /encoded slash/],
    ['/svc/a%5cb', /encoded slash/],
    ['/svc/a%5Cb', /encoded slash/],
    ['/svc/a%252fb', /encoded slash/],
    ['/svc/a%252F..', /encoded slash/],
    ['/svc/..%2fadmin', /encoded slash/],
    ['/svc/%2e%2e%2fadmin', /encoded slash/],
    // raw backslash
    ['/svc/a\\b', /backslash/],
    ['/svc\\..\\admin', /backslash/],
    // NUL and controls, raw and encoded
    ['/svc/a%00b', /control/],
    ['/svc/a%2500', /control/],
    ['/svc/a%0d%0aSet-Cookie:x', /control/],
    ['/svc/a%7F', /control/],
    ['/svc/a\u0000b', /control, space or non-ASCII/],
    ['/svc/a\tb', /control, space or non-ASCII/],
    ['/svc/a b', /control, space or non-ASCII/],
    ['/svc/caf\u00e9', /control, space or non-ASCII/],
    ['/svc/x?q=a\u0001', /control, space or non-ASCII/],
    ['/svc/x#frag', /'#'/],
    // double encoding of a dot that is not a whole segment
    ['/svc/file%252ejson', /double-encoded dot/],
    // overlong UTF-8
    ['/svc/%c0%ae%c0%ae/admin', /overlong/],
    ['/svc/%C1%9C', /overlong/],
    // non-standard percent-encoding: %u, bare '%', invalid or overlong UTF-8, NFKC delimiters
    ['/svc/%u002e%u002e/admin', /%u escape/],
    ['/svc/%U002E', /%u escape/],
    ['/svc/%25u002e', /%u escape/],
    ['/svc/100%', /not followed by two hex digits/],
    ['/svc/a%%41', /not followed by two hex digits/],
    ['/svc/a%g1', /not followed by two hex digits/],
    ['/svc/%e0%80%ae%e0%80%ae/admin', /not valid UTF-8/],
    ['/svc/%f0%80%80%ae', /not valid UTF-8/],
    ['/svc/%ed%a0%80', /not valid UTF-8/], // a UTF-16 surrogate
    ['/svc/%f4%90%80%80', /not valid UTF-8/], // beyond U+10FFFF
    ['/svc/%80', /not valid UTF-8/], // a lone continuation byte
    ['/svc/%e2%82', /not valid UTF-8/], // truncated
    ['/svc/%ff', /not valid UTF-8/],
    ['/svc/%25e0%2580%25ae', /not valid UTF-8/], // one level down
    ['/svc/%ef%bc%8e%ef%bc%8e/admin', /delimiter/], // fullwidth full stop
    ['/svc/a%ef%bc%8fb', /delimiter/], // fullwidth solidus
    ['/svc/a%EF%BC%BCb', /delimiter/], // fullwidth reverse solidus
    ['/svc/%e2%80%a5', /delimiter/], // two dot leader: '..'
    ['/svc/%ef%b9%92', /delimiter/], // small full stop
    ['/svc/a%ef%bc%85%32%65', /delimiter/], // fullwidth percent
    ['/svc/a%ef%bc%9fq', /delimiter/], // fullwidth question mark
    ['/svc/%25ef%25bc%258e', /delimiter/], // one level down
    // empty segments, protocol-relative
    ['//evil.example/x', /empty segment/],
    ['/svc//evil.example/x', /empty segment/],
    ['/svc/a//b', /empty segment/],
    // not origin-form
    ['http://evil.example/forward/svc/x', /Absolute-form/],
    ['HTTPS://evil.example/', /Absolute-form/],
    ['evil.example:443', /Authority-form/],
    ['svc/x', /Authority-form or relative/],
    ['*', /asterisk-form/],
    ['', /empty/],
  ];
  it.each(unsafe)('rejects %j', (target, reason) => {
    expect(findUnsafeTarget(target)).toMatch(reason);
  });

  it('quotes at most a short excerpt of the input', () => {
    const reason = findUnsafeTarget(`${'a'.repeat(10_000)}:1`);
    expect(reason).not.toBeNull();
    expect((reason as string).length).toBeLessThan(200);
    const dots = findUnsafeTarget(`/svc/..;${'x'.repeat(10_000)}/y`);
    expect((dots as string).length).toBeLessThan(200);
  });

  it('assertSafeTarget throws PATH_REJECTED (400)', () => {
    expect(() => assertSafeTarget('/svc/%2e%2e/x')).toThrow(ProxyError);
    try {
      assertSafeTarget('/svc/%2e%2e/x');
    } catch (err) {
      expect(err).toMatchObject({ code: 'PATH_REJECTED', status: 400, source: 'proxy' });
    }
    expect(() => assertSafeTarget('/svc/ok')).not.toThrow();
  });

  it('describeNonOriginForm only objects to targets not starting with /', () => {
    expect(describeNonOriginForm('/x/../y')).toBeNull();
    expect(describeNonOriginForm('http://h/')).toMatch(/Absolute-form/);
  });
});
