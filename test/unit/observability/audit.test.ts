import { attachAuditLog, requestLevel } from '../../../proxy/src/observability/audit';
import { NO_ATTRIBUTION, ProxyEvents, type RequestRecord } from '../../../proxy/src/observability/events';
import { createLogger, createMemoryTransport, type MemoryTransport } from '../../../proxy/src/observability/logger';
import { SecretRedactor } from '../../../proxy/src/observability/redaction';

function record(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    requestId: 'req-1',
    method: 'GET',
    path: '/forward/github/user?page=',
    route: 'forward',
    status: 200,
    clientId: 'n8n-prod',
    tokenId: 'abc123',
    service: 'github',
    errorCode: null,
    errorSource: null,
    errorDetail: null,
    durationMs: 12.5,
    secretMs: 0.4,
    upstreamMs: 10,
    remoteAddress: '127.0.0.1',
    aborted: false,
    ...NO_ATTRIBUTION,
    ...overrides,
  };
}

function setup(): { events: ProxyEvents; mem: MemoryTransport; detach: () => void } {
  const events = new ProxyEvents();
  const mem = createMemoryTransport();
  const logger = createLogger({ level: 'debug', redactor: new SecretRedactor(), transports: [mem] });
  return { events, mem, detach: attachAuditLog(events, logger) };
}

describe('attachAuditLog requests', () => {
  it('writes exactly one line per finished request with every record field', () => {
    const { events, mem } = setup();
    const r = record();
    events.emit('request:finish', r);
    expect(mem.lines).toHaveLength(1);
    const { timestamp, level, msg, ...fields } = mem.entries()[0];
    expect([typeof timestamp, level, msg]).toEqual(['string', 'info', 'request']);
    // tokenId and secretMs match the sensitive-key pattern but are logged on purpose.
    expect(fields).toEqual({ ...r });
  });

  it.each<[string, string, Partial<RequestRecord>]>([
    ['success', 'info', {}],
    ['relayed upstream 404', 'info', { status: 404 }],
    ['relayed upstream 500', 'info', { status: 500 }],
    ['proxy refusal 401', 'warn', { status: 401, errorCode: 'PROXY_TOKEN_INVALID', errorSource: 'proxy', service: null }],
    ['proxy refusal 403', 'warn', { status: 403, errorCode: 'SERVICE_NOT_ALLOWED', errorSource: 'proxy' }],
    ['route not found', 'warn', { route: 'other', status: 404, errorCode: 'ROUTE_NOT_FOUND', errorSource: 'proxy' }],
    ['client aborted', 'warn', { status: 499, aborted: true }],
    ['vault failure', 'error', { status: 503, errorCode: 'VAULT_UNAVAILABLE', errorSource: 'vault' }],
    ['secret missing', 'error', { status: 502, errorCode: 'SECRET_NOT_FOUND', errorSource: 'vault' }],
    ['upstream timeout', 'error', { status: 504, errorCode: 'UPSTREAM_TIMEOUT', errorSource: 'upstream' }],
    ['internal error', 'error', { route: 'control', status: 500, errorCode: 'INTERNAL_ERROR', errorSource: 'proxy' }],
    ['not ready', 'warn', { route: 'ops', status: 503, errorCode: 'NOT_READY', errorSource: 'proxy' }],
    ['shutting down', 'warn', { status: 503, errorCode: 'SHUTTING_DOWN', errorSource: 'proxy' }],
    ['control plane 5xx without code', 'error', { route: 'control', status: 500 }],
    ['health probe', 'debug', { route: 'ops', status: 200, service: null }],
    ['whoami', 'info', { route: 'control', status: 200 }],
  ])('%s is logged at %s', (_name, level, overrides) => {
    expect(requestLevel(record(overrides))).toBe(level);
    const { events, mem } = setup();
    events.emit('request:finish', record(overrides));
    expect(mem.entries().map((e) => e.level)).toEqual([level]);
  });

  it('stops logging once detached', () => {
    const { events, mem, detach } = setup();
    detach();
    events.emit('request:finish', record());
    events.emit('vault:call', { operation: 'read', outcome: 'error', durationMs: 1, status: 500 });
    expect(mem.lines).toHaveLength(0);
  });
});

describe('attachAuditLog Vault events', () => {
  it.each([
    ['authenticated', 'info'],
    ['renewed', 'info'],
    ['relogin', 'info'],
    ['failed', 'warn'],
    ['expired', 'warn'],
  ] as const)('auth %s is logged at %s', (state, level) => {
    const { events, mem } = setup();
    events.emit('vault:auth', { state, method: 'approle', ttlSeconds: 300, reason: state === 'failed' ? 'Vault is sealed' : null });
    expect(mem.entries()).toEqual([expect.objectContaining({ level, msg: 'vault auth', state, method: 'approle', ttlSeconds: 300 })]);
  });

  it('logs successful Vault calls at debug and failed ones at warn', () => {
    const { events, mem } = setup();
    events.emit('vault:call', { operation: 'read', outcome: 'ok', durationMs: 3, status: 200 });
    events.emit('vault:call', { operation: 'renew', outcome: 'unavailable', durationMs: 5000, status: null });
    expect(mem.entries()).toEqual([
      expect.objectContaining({ level: 'debug', msg: 'vault call', operation: 'read', outcome: 'ok', status: 200 }),
      expect.objectContaining({ level: 'warn', msg: 'vault call', operation: 'renew', outcome: 'unavailable', status: null }),
    ]);
  });

  it('logs stale and expired cache results at warn, others at debug', () => {
    const { events, mem } = setup();
    events.emit('secret:cache', { result: 'hit', path: 'team/github' });
    events.emit('secret:cache', { result: 'stale', path: 'team/github' });
    expect(mem.entries().map((e) => [e.level, e.result, e.secretPath])).toEqual([
      ['debug', 'hit', 'team/github'],
      ['warn', 'stale', 'team/github'],
    ]);
  });
});
