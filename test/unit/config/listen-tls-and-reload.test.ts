import { buildConfig } from '../../../proxy/src/config/load';
import { ConfigError } from '../../../proxy/src/config/errors';
import { listenChangesNeedingRestart } from '../../../proxy/src/app/reload';

const BASE = {
  vault: { address: 'http://127.0.0.1:8200', auth: { method: 'token', token: 'x' } },
  clients: {},
  services: {},
};

function issuesOf(listen: unknown): readonly string[] {
  try {
    buildConfig({ ...BASE, listen }, {}, 'test');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

describe('listen.tls', () => {
  it('is optional and keeps both files when given', () => {
    expect(buildConfig(BASE, {}, 'test').listen.tls).toBeUndefined();
    expect(buildConfig({ ...BASE, listen: { tls: { certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' } } }, {}, 'test').listen.tls).toEqual({
      certFile: '/tls/tls.crt',
      keyFile: '/tls/tls.key',
    });
  });

  it.each([
    [{ certFile: '/tls/tls.crt' }, 'listen.tls.keyFile: listen.tls.keyFile must be the path of the PEM private key file of certFile'],
    [{ keyFile: '/tls/tls.key' }, 'listen.tls.certFile: listen.tls.certFile must be the path of a PEM certificate (chain) file'],
    [{ certFile: '', keyFile: '/k' }, 'listen.tls.certFile: must not be empty'],
    [{ certFile: '/c', keyFile: '/k', ca: '/ca' }, 'listen.tls: unknown field "ca"'],
    ['/tls/tls.crt', 'listen.tls: listen.tls must be a mapping { certFile, keyFile }'],
  ])('refuses %j naming the field', (tls, issue) => {
    expect(issuesOf({ tls })).toEqual([issue]);
  });
});

describe('listenChangesNeedingRestart', () => {
  const listen = (fields: Record<string, unknown>) => buildConfig({ ...BASE, listen: fields }, {}, 'test').listen;

  it('names host, port and tls changes, not the fields a reload applies', () => {
    const before = listen({ host: '127.0.0.1', port: 8080 });
    expect(listenChangesNeedingRestart(before, listen({ host: '127.0.0.1', port: 8080, shutdownTimeoutMs: 1000, publicUrl: 'https://p.example' }))).toEqual([]);
    expect(listenChangesNeedingRestart(before, listen({ host: '0.0.0.0', port: 9090 }))).toEqual(['listen.host', 'listen.port']);
    expect(listenChangesNeedingRestart(before, listen({ host: '127.0.0.1', port: 8080, tls: { certFile: '/c', keyFile: '/k' } }))).toEqual(['listen.tls']);
  });

  it('leaves out the fields each app reads (allowedHosts, bodyTimeoutMs), names the listener limits', () => {
    const before = listen({ host: '127.0.0.1', port: 8080 });
    expect(listenChangesNeedingRestart(before, listen({ host: '127.0.0.1', port: 8080, allowedHosts: ['proxy.internal'], bodyTimeoutMs: 5000 }))).toEqual([]);
    expect(listenChangesNeedingRestart(before, listen({ host: '127.0.0.1', port: 8080, headersTimeoutMs: 5000, maxHeaderBytes: 4096 }))).toEqual([
      'listen.headersTimeoutMs',
      'listen.maxHeaderBytes',
    ]);
  });
});
