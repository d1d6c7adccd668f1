import type { IncomingHttpHeaders } from 'node:http';
import {
  CLIENT_ADDRESS_HEADERS,
  METHOD_OVERRIDE_HEADERS,
  normalizedHeaderName,
  requestHeadersToForward,
  responseHeadersToRelay,
  URL_OVERRIDE_HEADERS,
} from '../../../proxy/src/forward/hop-headers';

function relayed(headers: IncomingHttpHeaders, alsoDropped?: ReadonlySet<string>): string[] {
  const before = structuredClone(headers);
  const kept = responseHeadersToRelay(headers, alsoDropped);
  // A copy: Node's parsed headers stay as the upstream sent them.
  expect(headers).toEqual(before);
  return Object.keys(kept).sort();
}

function forwarded(headers: IncomingHttpHeaders): string[] {
  const before = { ...headers };
  const kept = requestHeadersToForward(headers);
  // A copy: the request's own headers stay as the client sent them.
  expect(headers).toEqual(before);
  return Object.keys(kept).sort();
}

describe('requestHeadersToForward', () => {
  const cases: Array<[string, IncomingHttpHeaders, string[]]> = [
    ['keeps end-to-end headers', { accept: 'a', 'content-type': 'b', 'user-agent': 'c', cookie: 'd' }, ['accept', 'content-type', 'cookie', 'user-agent']],
    ['removes the proxy token', { authorization: 'Bearer spt_x_y', accept: 'a' }, ['accept']],
    ['removes proxy-authorization', { 'proxy-authorization': 'Basic x' }, []],
    [
      'removes hop-by-hop headers',
      {
        connection: 'keep-alive',
        'keep-alive': 'timeout=5',
        'proxy-connection': 'x',
        te: 'trailers',
        trailer: 'x',
        upgrade: 'h2c',
        'http2-settings': 'x',
        accept: 'a',
      },
      ['accept'],
    ],
    ['removes headers named in Connection', { connection: 'X-Custom, x-other ,keep-alive', 'x-custom': '1', 'x-other': '2', 'x-kept': '3' }, ['x-kept']],
    ['removes headers named in Connection given as a list', { connection: ['x-a', 'x-b'] as unknown as string, 'x-a': '1', 'x-b': '2' }, []],
    [
      'never removes framing headers named in Connection',
      { connection: 'content-length, transfer-encoding, host', 'content-length': '3', host: 'h' },
      ['content-length', 'host'],
    ],
    ['keeps content-length and transfer-encoding', { 'content-length': '10', 'transfer-encoding': 'chunked' }, ['content-length', 'transfer-encoding']],
    ['removes every x-secure-proxy-* header', { 'x-secure-proxy-error': 'X', 'x-secure-proxy-anything': 'y', 'x-secure': 'kept' }, ['x-secure']],
    [
      'removes client forwarding claims',
      {
        forwarded: 'for=1.2.3.4',
        'x-forwarded-for': '1.2.3.4',
        'x-forwarded-host': 'h',
        'x-forwarded-proto': 'https',
        'x-real-ip': '1.2.3.4',
        'x-forwarder': 'kept',
      },
      ['x-forwarder'],
    ],
    ['removes expect', { expect: '100-continue', 'content-length': '1' }, ['content-length']],
    ['keeps host (changeOrigin sets it later)', { host: 'proxy.local' }, ['host']],
  ];
  it.each(cases)('%s', (_name, headers, expected) => {
    expect(forwarded(headers)).toEqual(expected);
  });
});

/** Spellings of a header name a client can send and a CGI-style server reads as the same name. */
function spellingsOf(name: string): string[] {
  const underscored = name.replaceAll('-', '_');
  const mixed = name
    .split('-')
    .map((part, i) => (i % 2 === 0 ? part : part.toUpperCase()))
    .join('_');
  // Node lower-cases names; only the `_` / `-` choice survives into req.headers.
  return [...new Set([name, underscored, mixed.toLowerCase(), name.replace('-', '_')])];
}

describe('requestHeadersToForward: header families that steer the upstream, in every spelling', () => {
  const families: Array<[string, readonly string[]]> = [
    [
      'client address claims',
      [...CLIENT_ADDRESS_HEADERS, 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-forwarded-prefix'],
    ],
    ['URL overrides', [...URL_OVERRIDE_HEADERS, 'x-forwarded-uri', 'x-forwarded-path']],
    ['method overrides', [...METHOD_OVERRIDE_HEADERS, 'x-forwarded-method']],
    [
      'proxy-internal headers, the attribution headers among them',
      [
        'x-secure-proxy-service',
        'x-secure-proxy-error',
        'x-secure-proxy-workflow-id',
        'x-secure-proxy-workflow-name',
        'x-secure-proxy-execution-id',
        'x-secure-proxy-node-name',
        'x-secure-proxy-ai-tool',
      ],
    ],
    ['Envoy controls', ['x-envoy-retry-on', 'x-envoy-upstream-rq-timeout-ms']],
    ['hop-by-hop and framing spellings', ['proxy-authorization', 'keep-alive', 'content-length', 'transfer-encoding', 'proxy-connection']],
  ];
  it.each(families)('%s', (_family, names) => {
    for (const name of names) {
      for (const spelling of spellingsOf(name)) {
        // The exact framing headers stay (Node frames the body by them); their underscore spellings go.
        if (spelling === 'content-length' || spelling === 'transfer-encoding') continue;
        const headers = requestHeadersToForward({ [spelling]: 'x', accept: 'a' });
        expect({ spelling, kept: Object.keys(headers) }).toEqual({ spelling, kept: ['accept'] });
      }
    }
  });

  it('drops a client header that normalises to an injected name, so the injected one travels alone', () => {
    const injected = new Set(['x-api-key', 'authorization']);
    for (const spelling of ['x_api_key', 'x-api_key', 'x_api-key', 'authorization_', 'x-api-key']) {
      const headers = requestHeadersToForward({ [spelling]: 'client value', accept: 'a' }, injected);
      expect({ spelling, kept: Object.keys(headers) }).toEqual({ spelling, kept: spelling === 'authorization_' ? [spelling, 'accept'] : ['accept'] });
    }
  });

  it('copies the kept values in order, leaves out the extra names asked for and what Connection lists', () => {
    const headers: IncomingHttpHeaders = {
      accept: 'a',
      connection: 'close, X-Trace-Hop, Content-Length',
      'x-trace-hop': '1',
      'content-length': '3',
      range: 'bytes=0-1',
      'if-range': 'x',
      'set-me': ['1', '2'],
    };
    const kept = requestHeadersToForward(headers, new Set(), new Set(['range', 'if-range']));
    expect(kept).toEqual({ accept: 'a', 'content-length': '3', 'set-me': ['1', '2'] });
    expect(Object.keys(kept)).toEqual(['accept', 'content-length', 'set-me']);
  });

  it('keeps unrelated headers with underscores', () => {
    const headers = requestHeadersToForward({ x_custom_flag: '1', 'x-request-id_': '2', my_header: '3' }, new Set(['x-api-key']));
    expect(Object.keys(headers).sort()).toEqual(['my_header', 'x-request-id_', 'x_custom_flag']);
  });

  it('normalises names the way CGI-style servers read them', () => {
    expect(normalizedHeaderName('X_Forwarded_For')).toBe('x-forwarded-for');
    expect(normalizedHeaderName('X-Real_IP')).toBe('x-real-ip');
    expect(normalizedHeaderName('Accept')).toBe('accept');
  });
});

describe('responseHeadersToRelay', () => {
  const cases: Array<[string, IncomingHttpHeaders, string[]]> = [
    ['keeps end-to-end headers', { 'content-type': 'a', 'set-cookie': ['a=1'], location: '/x', etag: 'e' }, ['content-type', 'etag', 'location', 'set-cookie']],
    ['keeps framing headers', { 'content-length': '1', 'transfer-encoding': 'chunked' }, ['content-length', 'transfer-encoding']],
    ['removes hop-by-hop headers', { connection: 'close', 'keep-alive': 'timeout=5', 'proxy-authenticate': 'Basic', trailer: 'x', upgrade: 'h2', te: 'x' }, []],
    ['removes headers named in Connection', { connection: 'x-hop', 'x-hop': '1', 'x-end': '2' }, ['x-end']],
    ['removes a spoofed proxy error header', { 'x-secure-proxy-error': 'SPOOFED', 'content-type': 'a' }, ['content-type']],
    ['keeps authorization-like upstream headers (not hop-by-hop)', { 'www-authenticate': 'Bearer' }, ['www-authenticate']],
  ];
  it.each(cases)('%s', (_name, headers, expected) => {
    expect(relayed(headers)).toEqual(expected);
  });

  it('leaves out the further names it is given, and keeps the values of the rest as they were', () => {
    const headers: IncomingHttpHeaders = { 'content-type': 'a', 'transfer-encoding': 'chunked', 'x-request-id': 'up', 'set-cookie': ['a=1', 'b=2'] };
    expect(relayed(headers, new Set(['transfer-encoding', 'x-request-id']))).toEqual(['content-type', 'set-cookie']);
    expect(responseHeadersToRelay(headers, new Set(['transfer-encoding']))).toEqual({
      'content-type': 'a',
      'x-request-id': 'up',
      'set-cookie': ['a=1', 'b=2'],
    });
  });
});
