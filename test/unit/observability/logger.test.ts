import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios, { type AxiosError } from 'axios';
import type { Logger } from 'winston';
import { createLogger, createMemoryTransport, type MemoryTransport } from '../../../proxy/src/observability/logger';
import { REDACTED, SecretRedactor } from '../../../proxy/src/observability/redaction';

const LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
/** Registered with the redactor, as a secret read from Vault would be. */
const CANARY = 'CANARY-registered-7f3a9c';
/** Never registered: only structure (keys, error handling) may keep these out. */
const VAULT_TOKEN = 'hvs-like-unregistered-vault-token-5e1d';
const SECRET_ID = 'unregistered-secret-id-c0ffee';

function setup(level = 'silly'): { logger: Logger; mem: MemoryTransport; redactor: SecretRedactor } {
  const redactor = new SecretRedactor();
  redactor.add(CANARY);
  const mem = createMemoryTransport();
  return { logger: createLogger({ level, redactor, transports: [mem] }), mem, redactor };
}

function expectClean(mem: MemoryTransport): void {
  expect(mem.lines.length).toBeGreaterThan(0);
  const text = mem.text();
  expect(text).not.toContain(CANARY);
  expect(text).not.toContain(VAULT_TOKEN);
  expect(text).not.toContain(SECRET_ID);
}

describe('createLogger line shape', () => {
  it('writes one JSON object per line with timestamp, level, msg and fields', () => {
    const { logger, mem } = setup('info');
    logger.info('proxy listening', { url: 'http://127.0.0.1:8080', services: 3 });
    expect(mem.lines).toHaveLength(1);
    const entry = mem.entries()[0];
    expect(entry).toEqual({ timestamp: expect.any(String), level: 'info', msg: 'proxy listening', url: 'http://127.0.0.1:8080', services: 3 });
    expect(new Date(entry.timestamp as string).toISOString()).toBe(entry.timestamp);
    expect(Object.keys(entry).slice(0, 3)).toEqual(['timestamp', 'level', 'msg']);
  });

  it('does not let fields forge the level or timestamp', () => {
    const { logger, mem } = setup('info');
    logger.info('x', { level: 'error', timestamp: 'forged', msg: 'forged' });
    const entry = mem.entries()[0];
    expect(entry.level).toBe('info');
    expect(entry.msg).toBe('x');
    expect(entry.timestamp).not.toBe('forged');
  });

  it('filters by level', () => {
    const { logger, mem } = setup('warn');
    logger.info('hidden');
    logger.debug('hidden');
    logger.warn('shown');
    expect(mem.entries().map((e) => e.msg)).toEqual(['shown']);
  });

  it('never mutates the caller object', () => {
    const { logger } = setup();
    const meta = { message: 'm', headers: { authorization: 'Bearer keep-me-intact' }, nested: { token: 'tok-keep' } };
    logger.info(meta);
    expect(meta.headers.authorization).toBe('Bearer keep-me-intact');
    expect(meta.nested.token).toBe('tok-keep');
  });
});

describe.each(LEVELS)('redaction at level %s', (level) => {
  it('redacts a registered value in the message, fields, nested objects and arrays', () => {
    const { logger, mem } = setup();
    logger.log(level, `message embeds ${CANARY} inside`, {
      plain: CANARY,
      embedded: `prefix-${CANARY}-suffix`,
      nested: { deeper: { list: ['a', `x${CANARY}y`, { value: CANARY }] } },
      url: new URL(`https://api.example/x?k=${CANARY}`),
    });
    expectClean(mem);
    const entry = mem.entries()[0];
    expect(entry.level).toBe(level);
    expect(entry.msg).toBe(`message embeds ${REDACTED} inside`);
    expect(entry.embedded).toBe(`prefix-${REDACTED}-suffix`);
  });

  it('blanks sensitive keys whatever their value', () => {
    const { logger, mem } = setup();
    logger.log(level, 'headers', {
      headers: { Authorization: `Bearer ${VAULT_TOKEN}`, 'X-Vault-Token': VAULT_TOKEN, accept: 'application/json' },
      body: { secret_id: SECRET_ID, role_id: 'role-1' },
      list: [{ client_token: VAULT_TOKEN }],
    });
    expectClean(mem);
    const entry = mem.entries()[0] as { headers: Record<string, string>; body: Record<string, string> };
    expect(entry.headers).toEqual({ Authorization: REDACTED, 'X-Vault-Token': REDACTED, accept: 'application/json' });
    expect(entry.body.role_id).toBe('role-1');
  });

  it('logs errors as {name, code, message} with the message redacted and no stack', () => {
    const { logger, mem } = setup();
    const err = Object.assign(new Error(`upstream said ${CANARY}`), { code: 'E_TEST', config: { headers: { 'X-Vault-Token': VAULT_TOKEN } } });
    logger.log(level, 'failed', { error: err });
    expectClean(mem);
    const entry = mem.entries()[0];
    expect(entry.error).toEqual({ name: 'Error', code: 'E_TEST', message: `upstream said ${REDACTED}` });
    expect(mem.text()).not.toContain('at Object.');
  });
});

describe('errors with request baggage', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: ['permission denied'] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function axiosFailure(url: string): Promise<AxiosError> {
    try {
      await axios.post(url, { role_id: 'r', secret_id: SECRET_ID }, { headers: { 'X-Vault-Token': VAULT_TOKEN }, timeout: 2000 });
    } catch (err) {
      return err as AxiosError;
    }
    throw new Error('expected the request to fail');
  }

  async function refusedUrl(): Promise<string> {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/v1/auth/approle/login`;
    await new Promise((resolve) => closed.close(resolve));
    return url;
  }

  // Each way a caller might hand an axios error to the logger.
  const forms: Array<[string, (logger: Logger, err: AxiosError) => void]> = [
    ['logger.warn(msg, err)', (l, e) => l.warn('vault login failed', e)],
    ['logger.error(err)', (l, e) => l.error(e)],
    ['logger.warn(msg, { err })', (l, e) => l.warn('vault login failed', { err: e })],
    ['logger.warn(msg, { nested: [{ cause }] })', (l, e) => l.warn('vault login failed', { nested: [{ cause: e }] })],
    ['child.warn(msg, err)', (l, e) => l.child({ component: 'vault' }).warn('vault login failed', e)],
    ['child.error(err)', (l, e) => l.child({ component: 'vault' }).error(e)],
    ['logger.warn(err.toJSON())', (l, e) => l.warn(e.toJSON())],
    ['logger.warn(msg, { data: err.toJSON() })', (l, e) => l.warn('x', { data: e.toJSON() })],
    ['wrapped as cause', (l, e) => l.error('wrapped', { error: new Error('vault call failed', { cause: e }) })],
  ];

  it.each(forms)('a 403 answer logged as %s leaks neither the Vault token nor the login body', async (_name, log) => {
    const err = await axiosFailure(`${base}/v1/auth/approle/login`);
    // The canaries really are in the error object: the test would catch a leak.
    expect(JSON.stringify(err.config)).toContain(SECRET_ID);
    expect(err.config?.headers?.['X-Vault-Token']).toBe(VAULT_TOKEN);
    const { logger, mem } = setup();
    log(logger, err);
    expectClean(mem);
    expect(mem.text()).toContain('Request failed with status code 403');
    expect(mem.text()).toContain('ERR_BAD_REQUEST');
  });

  it.each(forms)('a refused connection logged as %s leaks neither', async (_name, log) => {
    const err = await axiosFailure(await refusedUrl());
    expect(err.code).toBe('ECONNREFUSED');
    const { logger, mem } = setup();
    log(logger, err);
    expectClean(mem);
    expect(mem.text()).toContain('ECONNREFUSED');
  });

  it('keeps the child logger fields and the status next to the error', async () => {
    const err = await axiosFailure(`${base}/v1/auth/approle/login`);
    const { logger, mem } = setup();
    logger.child({ component: 'vault' }).warn('vault login failed', err);
    const entry = mem.entries()[0];
    expect(entry).toMatchObject({
      msg: 'vault login failed',
      component: 'vault',
      err: { name: 'AxiosError', code: 'ERR_BAD_REQUEST', status: 403, message: 'Request failed with status code 403' },
    });
    expect(entry).not.toHaveProperty('config');
    expect(entry).not.toHaveProperty('request');
    expect(entry).not.toHaveProperty('response');
  });
});

describe('bounds', () => {
  it('stops at the depth limit and survives cycles', () => {
    const { logger, mem } = setup();
    const deep: Record<string, unknown> = {};
    let cursor = deep;
    for (let i = 0; i < 20; i++) cursor = cursor.child = {};
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    logger.info('bounded', { deep, cyclic });
    const text = mem.text();
    expect(text).toContain('[Truncated]');
    expect(text).toContain('[Circular]');
  });

  it('redacts before clipping long strings, so a cut cannot expose part of a secret', () => {
    const { logger, mem } = setup();
    logger.info('long', { body: `${'x'.repeat(8190)}${CANARY}` });
    expect(mem.text()).not.toContain(CANARY.slice(0, 4));
  });

  it('summarises buffers instead of logging their bytes', () => {
    const { logger, mem } = setup();
    logger.info('bytes', { body: Buffer.from(`payload ${VAULT_TOKEN}`) });
    expect(mem.entries()[0].body).toBe(`[Buffer ${`payload ${VAULT_TOKEN}`.length} bytes]`);
  });
});
