/**
 * A hostile API behind the proxy: raw answers no server library would send (status lines,
 * headers, framing, early closes, interim answers, protocol switches, hangs), against the
 * proxy as users run it, the built `secure-proxy serve` in a child process, so an answer that
 * takes the process down fails here instead of only showing in a log.
 *
 * For every scene, on a scrubbing service and on one with `scrub: false`:
 * - the answer is the upstream's (relayed whole) or the contract's (an error header, source
 *   upstream), as the scene table says, or, once part of a relayed answer went out, a cut;
 * - it comes within the service timeout (plus slack), never a hang;
 * - the scrubbing service's answer holds no spelling of the secret (and no proxy-made answer does);
 * - the audit line blames the upstream, not the client;
 * - afterwards the process is alive and serves a well-formed answer on the same service.
 * Then a property-based fuzz (fast-check, seeded) of generated answers, with the same checks.
 */
import http from 'node:http';
import fc from 'fast-check';
import { ERROR_CODES, ERROR_HEADER, type ErrorCode } from '../../proxy/src/contract/contract';
import { hashToken } from '../../proxy/src/auth/token-format';
import { HOSTILE_SCENES, LATE_SECOND_ANSWER, type Expectation } from '../support/hostile-scenes';
import { startHostileUpstream, type HostileStep, type HostileUpstream } from '../support/hostile-upstream';
import { canary, startHarness, type ProxyHarness } from '../support/proxy-harness';
import { createServeFolder, expectOutputHides, startServe, stopServe, type ServeFolder, type ServeProcess } from '../support/serve-process';

// Holds characters that JSON, URL and HTML encoders spell differently, and a space.
const SECRET = `${canary('hostile')}-'q"<&> x`;
/** Injected as `x-api-key` on the third service: token-shaped, so an answer can echo it in a header name. */
const KEY = canary('hostile-key');
/** The services every scene runs on, and which expectation of the scene table applies. */
const SERVICES = { scrubbed: 'scrubbed', plain: 'plain', keyed: 'scrubbed' } as const;
type ServiceName = keyof typeof SERVICES;
const TOKEN = `spt_hostile_${canary('token')}`;
/** Short, so hang scenes end quickly; generous for loopback answers on a busy machine. */
const SERVICE_TIMEOUT_MS = 1500;
/** A client that waited this long got no answer at all: a hang. */
const CLIENT_DEADLINE_MS = SERVICE_TIMEOUT_MS + 12_000;
const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 120);

/** Every spelling of the secret an answer could carry it in. */
function spellings(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const forms = [value, json, json.replaceAll('/', '\\/'), encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2)];
  forms.push(value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;'));
  forms.push(new URL(`http://h/?${value}`).search.slice(1), new URL(`http://h/#${value}`).hash.slice(1));
  return [...new Set(forms)];
}

interface Outcome {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** 'end': read whole; 'cut': the connection went away under the answer; 'refused': no answer; 'hang': nothing by the deadline. */
  ending: 'end' | 'cut' | 'refused' | 'hang';
  transcript: string;
}

let harness: ProxyHarness;
let hostile: HostileUpstream;
let folder: ServeFolder;
let proc: ServeProcess;
let baseUrl: string;
let requestCount = 0;

function send(path: string, headers: Record<string, string> = {}): Promise<Outcome> {
  const url = new URL(path, baseUrl);
  const requestId = `hostile-${++requestCount}`;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<Outcome, 'transcript'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      const lines = Object.entries(outcome.headers).map(([k, v]) => `${k}: ${String(v)}`);
      resolve({ ...outcome, transcript: `${outcome.status}\n${lines.join('\n')}\n\n${outcome.body.toString('latin1')}` });
    };
    const req = http.request(
      { host: url.hostname, port: url.port, path, agent: false, headers: { authorization: `Bearer ${TOKEN}`, 'x-request-id': requestId, ...headers } },
      (res) => {
        const parts: Buffer[] = [];
        const done = (ending: Outcome['ending']): void =>
          finish({ status: res.statusCode ?? 0, headers: { ...res.headers, 'x-test-request-id': requestId }, body: Buffer.concat(parts), ending });
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('end', () => done(res.complete ? 'end' : 'cut'));
        res.on('aborted', () => done('cut'));
        res.on('error', () => done('cut'));
      },
    );
    const deadline = setTimeout(() => {
      req.destroy();
      finish({ status: 0, headers: { 'x-test-request-id': requestId }, body: Buffer.alloc(0), ending: 'hang' });
    }, CLIENT_DEADLINE_MS);
    req.on('error', () => finish({ status: 0, headers: { 'x-test-request-id': requestId }, body: Buffer.alloc(0), ending: 'refused' }));
    req.end();
  });
}

/** The audit lines the child process wrote for one request, once the first has arrived (its output is asynchronous). */
async function auditLines(requestId: string): Promise<Array<Record<string, unknown>>> {
  const find = (): Array<Record<string, unknown>> =>
    proc
      .output()
      .split('\n')
      .filter((line) => line.includes(`"requestId":"${requestId}"`) && line.includes('"msg":"request"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  for (let i = 0; i < 100 && find().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return find();
}

/** Why an outcome breaks the expectation (or the rules every answer keeps), or null. */
function problem(outcome: Outcome, expectation: Expectation, scrubbed: boolean): string | null {
  if (outcome.ending === 'hang') return 'no answer within the service timeout: the client hung';
  const code = outcome.headers[ERROR_HEADER] as ErrorCode | undefined;
  if (code !== undefined) {
    const spec = ERROR_CODES[code];
    if (spec === undefined) return `unknown error code ${code}`;
    if (outcome.status !== spec.status) return `${code} with status ${outcome.status}`;
    const body = JSON.parse(outcome.body.toString('utf8')) as { error: { code: string; source: string } };
    if (body.error.code !== code || body.error.source !== 'upstream') return `error body ${JSON.stringify(body.error)}`;
    if (spec.source !== 'upstream') return `${code} is not an upstream code`;
  }
  const leaked = [...spellings(SECRET), ...spellings(KEY)].find((form) => outcome.transcript.includes(form));
  if (leaked !== undefined && (scrubbed || code !== undefined)) return `the secret left the proxy (as ${JSON.stringify(leaked.slice(0, 12))}…)`;
  if (expectation === 'any') {
    if (code === undefined && outcome.ending === 'refused') return 'the connection was cut before any answer';
    return null;
  }
  if (expectation === 'either') {
    if (code === undefined && outcome.ending !== 'end') return `neither a whole answer nor the contract (${outcome.ending})`;
    return null;
  }
  if (expectation === 'cut') {
    if (code === undefined && outcome.ending === 'end') return 'an answer cut short upstream reached the client looking complete';
    if (code === undefined && outcome.ending === 'refused') return 'the connection was cut before any answer';
    return null;
  }
  if ('relay' in expectation) {
    if (code !== undefined) return `refused with ${code}, expected the answer relayed`;
    if (outcome.ending !== 'end' || outcome.status !== expectation.relay)
      return `expected ${expectation.relay} relayed whole, got ${outcome.status} (${outcome.ending})`;
    return null;
  }
  if (code !== expectation.error) return `expected ${expectation.error}, got ${code ?? `${outcome.status} (${outcome.ending})`}`;
  return null;
}

/** Alive, and the same service still relays a well-formed answer. */
async function expectStillServing(service: ServiceName): Promise<void> {
  expect(proc.child.exitCode).toBeNull();
  const health = await send('/healthz');
  expect(health.status).toBe(200);
  const normal = await send(`/forward/${service}/normal`);
  expect({ status: normal.status, ending: normal.ending, code: normal.headers[ERROR_HEADER] }).toEqual({ status: 200, ending: 'end', code: undefined });
  expect(normal.body.toString('utf8')).toBe(`{"echo":"${service === 'plain' ? SECRET : '[REDACTED]'}"}`);
}

beforeAll(async () => {
  harness = await startHarness({ 'svc/echo': { token: canary('echo') }, 'svc/hostile': { token: SECRET }, 'svc/keyed': { key: KEY } });
  // The fuzz scene is set per run: the upstream reads it when the request arrives.
  hostile = await startHostileUpstream({
    ...Object.fromEntries(Object.entries(HOSTILE_SCENES).map(([name, scene]) => [name, scene.steps])),
    'second-answer-later': LATE_SECOND_ANSWER,
    fuzz: () => fuzzSteps,
  });
  folder = createServeFolder(harness, 'sp-hostile-');
  const service = (scrub: boolean, secret = 'svc/hostile', inject = '{ type: bearer, field: token }'): string[] => [
    `target: "${hostile.url}/base"`,
    `secret: ${secret}`,
    `inject: ${inject}`,
    `timeoutMs: ${SERVICE_TIMEOUT_MS}`,
    `scrub: ${scrub}`,
  ];
  folder.writeConfig({
    listen: '{ host: 127.0.0.1, port: 0 }',
    tokenHash: hashToken(TOKEN),
    services: {
      scrubbed: service(true),
      plain: service(false),
      keyed: service(true, 'svc/keyed', '{ type: header, name: X-Api-Key, template: "{{key}}" }'),
    },
  });
  ({ proc, url: baseUrl } = await startServe(harness, folder.configFile));
});

afterAll(async () => {
  const code = await stopServe(proc);
  if (proc !== undefined) expectOutputHides(proc, [...spellings(SECRET), ...spellings(KEY)]);
  await hostile?.close();
  await harness?.close();
  folder?.remove();
  expect(code).toBe(0);
});

let fuzzSteps: readonly HostileStep[] = [];

describe('a hostile upstream cannot crash, hang, leak past or confuse the proxy', () => {
  const cases = Object.entries(HOSTILE_SCENES).flatMap(([name, scene]) =>
    (Object.keys(SERVICES) as ServiceName[]).map((service) => [name, service, scene[SERVICES[service]]] as const),
  );

  it.each(cases)('%s (%s service)', async (name, service, expectation) => {
    const scene = HOSTILE_SCENES[name];
    const outcome = await send(`/forward/${service}/${name}`, scene.requestHeaders);
    expect({ name, service, problem: problem(outcome, expectation, service !== 'plain') }).toEqual({ name, service, problem: null });

    const requestId = String(outcome.headers['x-test-request-id']);
    const lines = await auditLines(requestId);
    expect(lines).toHaveLength(1);
    const code = outcome.headers[ERROR_HEADER];
    if (code !== undefined || outcome.ending === 'cut') {
      // An upstream failure is the upstream's, never recorded as a client that walked away.
      expect(lines[0]).toMatchObject({ errorSource: 'upstream', level: 'error' });
      if (code !== undefined) expect(lines[0].errorCode).toBe(code);
    }
    await expectStillServing(service);
  });

  it('scrubbing drops a header whose name holds the secret, keeps the rest, and puts its own request id on', async () => {
    const outcome = await send('/forward/keyed/header-name-secret');
    expect(outcome.headers['x-kept']).toBe('yes');
    expect(Object.keys(outcome.headers).filter((name) => name.startsWith('x-canary'))).toEqual([]);
    const plain = await send('/forward/plain/header-name-secret');
    expect(Object.keys(plain.headers).filter((name) => name.startsWith('x-canary'))).toHaveLength(1); // relayed as is without scrubbing
    const spoof = await send('/forward/scrubbed/header-spoofs-proxy');
    expect(spoof.headers[ERROR_HEADER]).toBeUndefined();
    expect(spoof.headers['x-request-id']).toBe(spoof.headers['x-test-request-id']);
    const upgrade = await send('/forward/plain/header-upgrade');
    expect([upgrade.headers.upgrade, upgrade.headers['x-hop']]).toEqual([undefined, undefined]);
  });

  it('never reuses an upstream connection that kept talking after its answer', async () => {
    for (const scene of ['two-answers-at-once', 'second-answer-later']) {
      const first = await send(`/forward/scrubbed/${scene}`);
      expect(first.body.toString('latin1')).toBe('hi');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const next = await send('/forward/scrubbed/normal');
      expect(next.body.toString('utf8')).toBe('{"echo":"[REDACTED]"}');
    }
  });
});

describe('fuzz: generated upstream answers', () => {
  const statusLine = fc.oneof(
    {
      weight: 12,
      arbitrary: fc.constantFrom('HTTP/1.1 200 OK', 'HTTP/1.1 404 Not Found', 'HTTP/1.0 200 OK', 'HTTP/1.1 500 Oops {{secret}}', 'HTTP/1.1 302 Found'),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: 1000 }), fc.string({ maxLength: 6 }))
        .map(([n, reason]) => `HTTP/1.1 ${String(n).padStart(3, '0')} ${reason}`),
    },
    {
      weight: 2,
      arbitrary: fc.uint8Array({ maxLength: 12 }).map(
        (bytes) =>
          `HTTP/1.1 200 ${Buffer.from(bytes)
            .toString('latin1')
            .replace(/[\r\n]/g, '')}`,
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom('HTTP/2 200', 'HTTP/1.1 101 Switching Protocols', 'hello {{secret}}', 'HTTP/1.1  200 OK', 'HTTP/1.1 200 OK ') },
  );
  const headerName = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.constantFrom(
        'X-Echo',
        'Set-Cookie',
        'Location',
        'Content-Type',
        'Connection',
        'Upgrade',
        'Trailer',
        'X-Secure-Proxy-Error',
        'Keep-Alive',
        'Content-Encoding',
      ),
    },
    { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}$/) },
    { weight: 1, arbitrary: fc.constantFrom('X Bad', 'X:Bad', '', 'X\x01A') },
  );
  const headerValue = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.constantFrom(
        '{{secret}}',
        'a {{secret}} b',
        'text/plain',
        'application/json',
        'close',
        'gzip',
        'http://elsewhere.example/{{secret}}',
        '/next?{{secret}}',
      ),
    },
    {
      weight: 2,
      arbitrary: fc.uint8Array({ maxLength: 10 }).map((bytes) =>
        Buffer.from(bytes)
          .toString('latin1')
          .replace(/[\r\n]/g, ''),
      ),
    },
  );
  const body = fc
    .array(fc.oneof(fc.constantFrom('{{secret}}', '"{{secret}}"', 'plain text ', '\x00\xff'), fc.string({ maxLength: 20 })), { maxLength: 5 })
    .map((parts) => parts.join(''));
  const framing = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('length', 'chunked', 'until-close') },
    {
      weight: 3,
      arbitrary: fc.constantFrom('length-wrong-short', 'length-wrong-long', 'length-twice', 'chunked-broken', 'chunked-unended', 'gzip-coding', 'none'),
    },
  );
  const interim = fc.oneof(
    { weight: 8, arbitrary: fc.constant('') },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'HTTP/1.1 100 Continue\r\n\r\n',
        'HTTP/1.1 103 Early Hints\r\nLink: </{{secret}}>\r\n\r\n',
        'HTTP/1.1 102 Processing\r\n\r\n',
        'HTTP/1.1 150 Odd\r\n\r\n',
      ),
    },
  );
  const ending = fc.oneof(
    { weight: 8, arbitrary: fc.constant<HostileStep[]>([{ wait: 20 }, { end: true }]) },
    { weight: 2, arbitrary: fc.constantFrom<HostileStep[]>([], [{ destroy: true }], [{ hang: true }]) },
  );

  function frame(kind: string, text: string): string {
    const length = Buffer.byteLength(text, 'latin1');
    switch (kind) {
      case 'length':
        return `Content-Length: ${length}\r\n\r\n${text}`;
      case 'length-wrong-short':
        return `Content-Length: ${length + 7}\r\n\r\n${text}`;
      case 'length-wrong-long':
        return `Content-Length: ${Math.max(0, length - 2)}\r\n\r\n${text}`;
      case 'length-twice':
        return `Content-Length: ${length}\r\nContent-Length: ${length + 1}\r\n\r\n${text}`;
      case 'chunked':
        return `Transfer-Encoding: chunked\r\n\r\n${length.toString(16)}\r\n${text}\r\n0\r\n\r\n`;
      case 'chunked-broken':
        return `Transfer-Encoding: chunked\r\n\r\n${length.toString(16)}\r\n${text}\r\nxyz\r\n`;
      case 'chunked-unended':
        return `Transfer-Encoding: chunked\r\n\r\n${length.toString(16)}\r\n${text}\r\n`;
      case 'gzip-coding':
        return `Transfer-Encoding: gzip\r\n\r\n${text}`;
      case 'until-close':
        return `\r\n${text}`;
      default:
        return '\r\n';
    }
  }

  it(`holds for ${FUZZ_RUNS} generated answers (seed ${FUZZ_SEED})`, async () => {
    const seenCodes = new Set<string>();
    let relayed = 0;
    await fc.assert(
      fc.asyncProperty(
        interim,
        statusLine,
        fc.array(fc.tuple(headerName, headerValue), { maxLength: 5 }),
        framing,
        body,
        ending,
        fc.constantFrom<ServiceName>('scrubbed', 'plain', 'keyed'),
        async (prefix, line, headers, kind, text, end, service) => {
          fuzzSteps = [
            `${prefix}${line}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}`,
            { compute: (_h, secret) => frame(kind, text.replaceAll('{{secret}}', secret.toString('latin1'))) },
            ...end,
          ];
          const outcome = await send(`/forward/${service}/fuzz`);
          const code = outcome.headers[ERROR_HEADER];
          if (typeof code === 'string') seenCodes.add(code);
          else if (outcome.ending === 'end') relayed++;
          // Any outcome but a hang, a leak or a malformed contract answer is fair for generated bytes.
          expect({ problem: problem(outcome, 'any', service !== 'plain') }).toEqual({ problem: null });
          expect(proc.child.exitCode).toBeNull();
        },
      ),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS, endOnFailure: true },
    );
    // The generator reaches both sides.
    expect(relayed).toBeGreaterThan(FUZZ_RUNS / 10);
    expect(seenCodes).toContain('UPSTREAM_RESPONSE_INVALID');
    // Generated answers end connections right after answering: give the pool time to notice
    // before the next request, which could otherwise race onto a closing connection (a fair 502).
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const service of Object.keys(SERVICES) as ServiceName[]) await expectStillServing(service);
  });
});
