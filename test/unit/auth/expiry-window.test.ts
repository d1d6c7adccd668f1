import { ExpiryWatch, expiryWarning } from '../../../proxy/src/auth/expiry-watch';
import { expiryWindow } from '../../../proxy/src/auth/expiry-window';
import type { TokenExpiry } from '../../../proxy/src/auth/token-index';
import { ProxyEvents, type TokenExpiryEvent } from '../../../proxy/src/observability/events';
import { createLogger, createMemoryTransport } from '../../../proxy/src/observability/logger';
import { SecretRedactor } from '../../../proxy/src/observability/redaction';

const NOW = Date.parse('2030-01-10T00:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

function token(clientId: string, tokenId: string | null, inMs: number | null, fromConfigFile = false, replacedBy: string | null = null): TokenExpiry {
  return { clientId, tokenId, expiresAt: inMs === null ? null : new Date(NOW + inMs), fromConfigFile, replacedBy };
}

describe('expiryWindow', () => {
  it('counts valid tokens expiring within the window per client, soonest first, and the earliest expiry of valid tokens', () => {
    const window = expiryWindow(
      [
        token('b', 'b1', 2 * DAY),
        token('a', 'a1', 30 * DAY),
        token('a', 'a2', null),
        token('b', 'b2', HOUR),
        token('b', 'b3', -HOUR), // expired: neither counted nor earliest
        token('c', 'c1', 0), // expires at this instant: already refused
      ],
      NOW,
      WEEK,
    );
    expect(window.expiring.map((t) => t.tokenId)).toEqual(['b2', 'b1']);
    expect(window.clients).toEqual([
      { client: 'a', expiringSoon: 0, earliestExpiryMs: NOW + 30 * DAY },
      { client: 'b', expiringSoon: 2, earliestExpiryMs: NOW + HOUR },
    ]);
  });

  it('includes a token exactly at the window edge, not one a millisecond past it', () => {
    expect(expiryWindow([token('a', 'edge', WEEK)], NOW, WEEK).expiring).toHaveLength(1);
    expect(expiryWindow([token('a', 'past', WEEK + 1)], NOW, WEEK).expiring).toHaveLength(0);
  });

  it('flags nothing with a window of 0, but still reports the earliest expiry', () => {
    const window = expiryWindow([token('a', 'a1', HOUR)], NOW, 0);
    expect(window.expiring).toEqual([]);
    expect(window.clients).toEqual([{ client: 'a', expiringSoon: 0, earliestExpiryMs: NOW + HOUR }]);
  });

  it('never-expiring tokens give a client with no earliest expiry', () => {
    expect(expiryWindow([token('a', 'a1', null)], NOW, WEEK).clients).toEqual([{ client: 'a', expiringSoon: 0, earliestExpiryMs: null }]);
  });
});

describe('expiry warning line', () => {
  it('names the token id, client, expiry, time left and the rotate command; never a hash', () => {
    expect(expiryWarning(token('n8n-prod', 'abc123', 3 * DAY + 4 * HOUR), NOW)).toBe(
      'proxy token abc123 of client n8n-prod expires at 2030-01-13T04:00:00.000Z (in 3d 4h); rotate it with secure-proxy token rotate --client n8n-prod',
    );
  });

  it('says that a token in its grace period was already rotated, and by which token, instead of asking to rotate it', () => {
    const line = expiryWarning(token('n8n-prod', 'old1', 10 * 60_000, false, 'new2'), NOW);
    expect(line).toBe(
      'proxy token old1 of client n8n-prod was already rotated (replaced by new2); its grace period ends at 2030-01-10T00:10:00.000Z (in 10m). ' +
        'Nothing to do if n8n uses the new token; a request with this one after that gets PROXY_TOKEN_EXPIRED',
    );
    expect(line).not.toContain('rotate it with');
  });

  it('tells config-file clients how to replace the token instead (token rotate refuses them)', () => {
    expect(expiryWarning(token('static', null, 2 * HOUR, true), NOW)).toBe(
      'a proxy token (without id) of client static expires at 2030-01-10T02:00:00.000Z (in 2h); issue a new one with secure-proxy token generate and add it to clients.static.tokenHashes in the config file',
    );
  });
});

describe('ExpiryWatch', () => {
  function watch(tokens: TokenExpiry[], clock: { now: number }) {
    const events = new ProxyEvents();
    const logs = createMemoryTransport();
    const logger = createLogger({ level: 'debug', redactor: new SecretRedactor(), transports: [logs] });
    const published: TokenExpiryEvent[] = [];
    events.on('tokens:expiry', (e) => published.push(e));
    const w = new ExpiryWatch({ tokens: () => tokens, windowSeconds: WEEK / 1000, events, logger, now: () => clock.now });
    return { w, events, logs, published };
  }

  it('warns once per token per day, again after a day, and publishes on every index swap', () => {
    const clock = { now: NOW };
    const { w, events, logs, published } = watch([token('n8n-prod', 'abc', 2 * DAY)], clock);
    w.start();
    events.emit('tokens:refresh', { trigger: 'schedule', outcome: 'ok', clients: 1, tokens: 1, reason: null });
    events.emit('tokens:refresh', { trigger: 'schedule', outcome: 'failed', clients: 1, tokens: 1, reason: 'down' });
    clock.now += DAY - 1;
    w.check();
    expect(published).toHaveLength(3);
    expect(logs.lines.filter((l) => l.includes('proxy token abc'))).toHaveLength(1);
    clock.now += 1;
    w.check();
    expect(logs.lines.filter((l) => l.includes('proxy token abc'))).toHaveLength(2);
    w.stop();
    events.emit('tokens:refresh', { trigger: 'schedule', outcome: 'ok', clients: 1, tokens: 1, reason: null });
    expect(published).toHaveLength(4);
  });

  it('warns about a token that crosses into the window by time passing alone', () => {
    const clock = { now: NOW };
    const { w, logs, published } = watch([token('n8n-prod', 'later', WEEK + HOUR)], clock);
    w.start();
    expect(logs.lines).toEqual([]);
    expect(published[0].clients).toEqual([{ client: 'n8n-prod', expiringSoon: 0, earliestExpiryMs: NOW + WEEK + HOUR }]);
    clock.now += 2 * HOUR;
    w.check();
    w.stop();
    expect(published[1].clients[0].expiringSoon).toBe(1);
    expect(logs.lines).toHaveLength(1);
    expect(logs.lines[0]).toContain('proxy token later of client n8n-prod expires at');
  });
});
