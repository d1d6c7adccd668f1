import type { IncomingHttpHeaders } from 'node:http';
import { stripRequestHeaders, stripResponseHeaders } from '../../../proxy/src/forward/hop-headers';

function stripped(headers: IncomingHttpHeaders, strip: (h: IncomingHttpHeaders) => void): string[] {
  const copy = { ...headers };
  strip(copy);
  return Object.keys(copy).sort();
}

describe('stripRequestHeaders', () => {
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
    expect(stripped(headers, stripRequestHeaders)).toEqual(expected);
  });
});

describe('stripResponseHeaders', () => {
  const cases: Array<[string, IncomingHttpHeaders, string[]]> = [
    ['keeps end-to-end headers', { 'content-type': 'a', 'set-cookie': ['a=1'], location: '/x', etag: 'e' }, ['content-type', 'etag', 'location', 'set-cookie']],
    ['keeps framing headers', { 'content-length': '1', 'transfer-encoding': 'chunked' }, ['content-length', 'transfer-encoding']],
    ['removes hop-by-hop headers', { connection: 'close', 'keep-alive': 'timeout=5', 'proxy-authenticate': 'Basic', trailer: 'x', upgrade: 'h2', te: 'x' }, []],
    ['removes headers named in Connection', { connection: 'x-hop', 'x-hop': '1', 'x-end': '2' }, ['x-end']],
    ['removes a spoofed proxy error header', { 'x-secure-proxy-error': 'SPOOFED', 'content-type': 'a' }, ['content-type']],
    ['keeps authorization-like upstream headers (not hop-by-hop)', { 'www-authenticate': 'Bearer' }, ['www-authenticate']],
  ];
  it.each(cases)('%s', (_name, headers, expected) => {
    expect(stripped(headers, stripResponseHeaders)).toEqual(expected);
  });
});
