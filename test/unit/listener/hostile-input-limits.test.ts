/**
 * The small pieces behind the hostile-input suite, table by table: Node's parser codes mapped
 * to contract codes, the allowedHosts matcher, and the config fields for the limits (defaults
 * and the messages for bad values).
 */
import { buildConfig } from '../../../proxy/src/config/load';
import { ConfigError } from '../../../proxy/src/config/errors';
import { clientErrorCode } from '../../../proxy/src/listener/client-errors';
import type { ErrorCode } from '../../../proxy/src/contract/contract';
import { compileHostMatcher } from '../../../proxy/src/listener/host-guard';

const BASE = {
  vault: { address: 'http://127.0.0.1:8200', auth: { method: 'token', token: 't' } },
  clients: { n8n: { tokenHashes: [`sha256:${'a'.repeat(64)}`], services: ['echo'] } },
  services: { echo: { target: 'http://127.0.0.1:9999', secret: 'svc/echo', inject: { type: 'bearer' } } },
};

function issuesOf(input: Record<string, unknown>): string[] {
  try {
    buildConfig({ ...BASE, ...input }, {}, 'test');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('clientErrorCode', () => {
  it.each<[string, ErrorCode]>([
    ['HPE_HEADER_OVERFLOW', 'HEADERS_TOO_LARGE'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 'REQUEST_TIMEOUT'],
    ['HPE_LF_EXPECTED', 'REQUEST_MALFORMED'],
    ['HPE_CR_EXPECTED', 'REQUEST_MALFORMED'],
    ['HPE_INVALID_HEADER_TOKEN', 'REQUEST_MALFORMED'],
    ['HPE_UNEXPECTED_CONTENT_LENGTH', 'REQUEST_MALFORMED'],
    ['HPE_INVALID_CONTENT_LENGTH', 'REQUEST_MALFORMED'],
    ['HPE_INVALID_TRANSFER_ENCODING', 'REQUEST_MALFORMED'],
    ['HPE_INVALID_METHOD', 'REQUEST_MALFORMED'],
    ['HPE_INVALID_URL', 'REQUEST_MALFORMED'],
    ['HPE_SOMETHING_NEW', 'REQUEST_MALFORMED'],
  ])('%s → %s', (nodeCode, code) => {
    expect(clientErrorCode(nodeCode)).toBe(code);
  });
});

describe('compileHostMatcher', () => {
  const allowed = compileHostMatcher(['proxy.internal', 'alias.internal:8443', '[::1]', '10.0.0.5:8080']);
  it.each<[string | undefined, boolean]>([
    ['proxy.internal', true],
    ['PROXY.internal:8080', true],
    ['alias.internal:8443', true],
    ['alias.internal', false],
    ['alias.internal:8444', false],
    ['[::1]:8080', true],
    ['[::1]', true],
    ['10.0.0.5:8080', true],
    ['10.0.0.5', false],
    ['x.proxy.internal', false],
    ['proxy.internal.evil.example', false],
    ['', false],
    [undefined, false],
  ])('%s → %s', (host, expected) => {
    expect(allowed(host)).toBe(expected);
  });
});

describe('config: listen limits and services.<name>.maxBodyBytes', () => {
  it('fills the documented defaults', () => {
    const config = buildConfig(BASE, {}, 'test');
    expect(config.listen).toMatchObject({ headersTimeoutMs: 20000, maxHeaderBytes: 32768, bodyTimeoutMs: 30000 });
    expect(config.listen.allowedHosts).toBeUndefined();
    // Absent means DEFAULT_MAX_BODY_BYTES (10 MiB), applied where the route is compiled.
    expect(config.services.echo.maxBodyBytes).toBeUndefined();
  });

  it('keeps given values', () => {
    const config = buildConfig(
      {
        ...BASE,
        listen: { headersTimeoutMs: 5000, maxHeaderBytes: 16384, bodyTimeoutMs: 1000, allowedHosts: ['proxy.internal', 'proxy.internal:8443', '[::1]:8080'] },
        services: { echo: { ...BASE.services.echo, maxBodyBytes: 0 } },
      },
      {},
      'test',
    );
    expect(config.listen).toMatchObject({
      headersTimeoutMs: 5000,
      maxHeaderBytes: 16384,
      bodyTimeoutMs: 1000,
      allowedHosts: ['proxy.internal', 'proxy.internal:8443', '[::1]:8080'],
    });
    expect(config.services.echo.maxBodyBytes).toBe(0);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'a negative body limit',
      { services: { echo: { ...BASE.services.echo, maxBodyBytes: -1 } } },
      /services\.echo\.maxBodyBytes.*must be 0 \(no body\) or more/,
    ],
    ['a fractional body limit', { services: { echo: { ...BASE.services.echo, maxBodyBytes: 1.5 } } }, /maxBodyBytes.*whole number of bytes/],
    ['a tiny header limit', { listen: { maxHeaderBytes: 100 } }, /listen\.maxHeaderBytes.*at least 1024 bytes/],
    ['a zero headers timeout', { listen: { headersTimeoutMs: 0 } }, /listen\.headersTimeoutMs/],
    ['a text body timeout', { listen: { bodyTimeoutMs: '30s' } }, /listen\.bodyTimeoutMs.*must be a number/],
    ['an empty host list', { listen: { allowedHosts: [] } }, /listen\.allowedHosts.*at least one host name/],
    ['a URL as a host', { listen: { allowedHosts: ['https://proxy.internal/'] } }, /listen\.allowedHosts\[0\].*host name or address with an optional port/],
    ['a port out of range', { listen: { allowedHosts: ['proxy.internal:70000'] } }, /listen\.allowedHosts\[0\].*optional port/],
  ])('refuses %s and says what was expected', (_name, input, message) => {
    expect(issuesOf(input).join('\n')).toMatch(message);
  });
});
