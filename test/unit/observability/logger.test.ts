import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios, { type AxiosError } from 'axios';
import type { Logger } from 'winston';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger, createMemoryTransport, flatWriterOf, LineTransport, type MemoryTransport } from '../../../proxy/src/observability/logger';
import { REDACTED, SecretRedactor } from '../../../proxy/src/observability/redaction';
import { jsonString } from '../../../proxy/src/observability/sanitize';
import fc from 'fast-check';

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

describe('jsonString (the audit line writes its strings with it)', () => {
  it('writes every string exactly as JSON.stringify does: quotes, backslashes, controls, lone and paired surrogates, U+2028', () => {
    const tricky = fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u007f', '\u2028', '\ud800', '\udfff', '😀', 'é', '/');
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ unit: 'binary' }), tricky), { maxLength: 6 }), (parts) => {
        const text = parts.join('');
        expect(jsonString(text)).toBe(JSON.stringify(text));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('flat lines (the audit line writer)', () => {
  const record = {
    requestId: 'req-1',
    path: `/forward/api/x?key=&echo=${CANARY}`,
    status: 200,
    clientId: null,
    aborted: false,
    apiKey: 'blanked-by-its-name',
    level: 'error',
    msg: 'forged',
    long: `${CANARY}${'x'.repeat(9000)}`,
    quoted: 'say "hi"\\ \n\t\u0001 \u2028 é 😀 \ud800 end',
    header: 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig',
    notANumber: Number.NaN,
    infinite: Number.NEGATIVE_INFINITY,
    negativeZero: -0,
    huge: 1e21,
    tiny: 5e-7,
    secretNumber: 123456,
    passwordSet: true,
    tokenCount: null,
  };
  const withoutTimestamp = (entry: Record<string, unknown>): Record<string, unknown> => {
    const { timestamp, ...rest } = entry;
    expect(new Date(timestamp as string).toISOString()).toBe(timestamp);
    return rest;
  };

  it('writes exactly the line logger.log writes for the same record: redacted, clipped, sensitive keys blanked, reserved keys kept', () => {
    const { logger, mem } = setup('info');
    logger.log('info', 'request', record);
    flatWriterOf(logger)('info', 'request', record);
    expect(mem.lines).toHaveLength(2);
    // The same text (member order, escapes, number spellings), the timestamp aside.
    const [generalText, flatText] = mem.lines.map((line) => line.replace(/^\{"timestamp":"[^"]*",/, '{'));
    expect(flatText).toBe(generalText);
    const [general, flat] = mem.entries().map(withoutTimestamp);
    expect(flat).toEqual(general);
    expect(flat).toMatchObject({ level: 'info', msg: 'request', apiKey: REDACTED, status: 200, clientId: null, aborted: false });
    expect(flat).toMatchObject({ header: `Authorization: Bearer ${REDACTED}`, notANumber: null, infinite: null, negativeZero: 0, huge: 1e21 });
    expect(flat).toMatchObject({ secretNumber: REDACTED, passwordSet: true, tokenCount: null });
    expect(String(flat.long).endsWith('…[truncated]')).toBe(true);
    expectClean(mem);
  });

  it('sends a record with a nested value through logger.log, which sanitises it as usual', () => {
    const { logger, mem } = setup('info');
    flatWriterOf(logger)('info', 'request', { nested: { token: VAULT_TOKEN, note: CANARY } });
    expect(mem.entries().map(withoutTimestamp)).toEqual([{ level: 'info', msg: 'request', nested: { token: REDACTED, note: REDACTED } }]);
  });

  it("honours each transport's level and silence, and a transport's own format (through logger.log)", () => {
    const redactor = new SecretRedactor();
    const all = createMemoryTransport();
    const warnOnly = createMemoryTransport();
    warnOnly.level = 'warn';
    const silent = createMemoryTransport();
    silent.silent = true;
    const logger = createLogger({ level: 'info', redactor, transports: [all, warnOnly, silent] });
    flatWriterOf(logger)('info', 'request', { status: 200 });
    flatWriterOf(logger)('warn', 'request', { status: 401 });
    expect(all.entries().map((e) => e.status)).toEqual([200, 401]);
    expect(warnOnly.entries().map((e) => e.status)).toEqual([401]);
    expect(silent.lines).toEqual([]);

    const formatted = createMemoryTransport();
    formatted.format = winston.format((info) => ({ ...info, [Symbol.for('message')]: `formatted ${String(info.message)}` }))();
    const withFormat = createLogger({ level: 'info', redactor, transports: [formatted] });
    flatWriterOf(withFormat)('info', 'request', { status: 200 });
    expect(formatted.lines).toEqual(['formatted request']);
  });

  it('LineTransport writes the lines of one tick in one write, each with its newline, in order', async () => {
    const { written, stream } = recordingStream();
    const redactor = new SecretRedactor();
    redactor.add(CANARY);
    const logger = createLogger({ level: 'info', redactor, transports: [new LineTransport(stream)] });
    flatWriterOf(logger)('info', 'request', { path: `/x?${CANARY}` });
    logger.info('plain', { n: 1 });
    expect(written).toEqual([]);
    await endOfTick();
    expect(written).toHaveLength(1);
    const lines = written[0].split('\n');
    expect(lines.pop()).toBe('');
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'info', msg: 'request', path: `/x?${REDACTED}` });
    expect(JSON.parse(lines[1])).toMatchObject({ msg: 'plain', n: 1 });
    expect(written[0]).not.toContain(CANARY);

    logger.info('next tick');
    await endOfTick();
    expect(written).toHaveLength(2);
    expect(JSON.parse(written[1])).toMatchObject({ msg: 'next tick' });
  });

  it('LineTransport writes held lines at once when they reach 64 KiB, and holds none when closed', async () => {
    const { written, stream } = recordingStream();
    const transport = new LineTransport(stream);
    const logger = createLogger({ level: 'info', redactor: new SecretRedactor(), transports: [transport] });
    const filler = 'x'.repeat(1000);
    let logged = 0;
    while (written.length === 0 && logged < 200) logger.info('line', { filler, n: logged++ });
    // Written in the same tick as the line that crossed the bound, not at its end.
    expect(written).toHaveLength(1);
    expect(written[0].length).toBeGreaterThanOrEqual(64 * 1024);
    logger.info('after the bound', { n: logged });
    transport.close();
    expect(written).toHaveLength(2);
    await endOfTick();
    expect(written).toHaveLength(2);
    const numbers = written
      .join('')
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { n: number }).n);
    expect(numbers).toEqual(Array.from({ length: logged + 1 }, (_, i) => i));
  });

  it.each([
    ['in the same tick', 'logger.error("shutdown failed"); process.exit(3);'],
    ['from a later promise callback', 'Promise.resolve().then(() => logger.error("shutdown failed")).then(() => process.exit(3));'],
  ])('LineTransport writes a line logged just before process.exit() %s', async (_when, exit) => {
    const dist = join(__dirname, '../../../proxy/dist/observability');
    if (!existsSync(join(dist, 'logger.js'))) throw new Error(`${dist} is missing: run \`npm run build\` before these tests`);
    const script = [
      `const { createLogger, LineTransport } = require(${JSON.stringify(join(dist, 'logger.js'))});`,
      `const { SecretRedactor } = require(${JSON.stringify(join(dist, 'redaction.js'))});`,
      "const logger = createLogger({ level: 'info', redactor: new SecretRedactor(), transports: [new LineTransport(process.stdout)] });",
      "logger.info('started');",
      exit,
    ].join('\n');
    const { status, stdout } = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(status).toBe(3);
    const messages = stdout
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toEqual(['started', 'shutdown failed']);
  });
});

/** A Writable that keeps each write's text. */
function recordingStream(): { written: string[]; stream: Writable } {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  return { written, stream };
}

/** Resolves once the current tick's process.nextTick callbacks have run. */
function endOfTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

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
