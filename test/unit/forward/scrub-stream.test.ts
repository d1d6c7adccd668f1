/** Scrubbing a body chunk by chunk: chunking never changes the output, carry-over stays bounded, every echo spelling is caught. */
import fc from 'fast-check';
import {
  compileScrubber,
  containsSecretCaseless,
  REDACTED,
  ScrubCursor,
  scrubBuffer,
  scrubHeaderValue,
  type Scrubber,
} from '../../../proxy/src/forward/scrub/stream';
import { scanEveryPosition, scrubInto } from '../../../proxy/src/forward/scrub/matcher';

function scrubChunks(scrubber: Scrubber, chunks: Buffer[]): { out: string; maxCarry: number } {
  const cursor = new ScrubCursor(scrubber);
  let maxCarry = 0;
  const output: Buffer[] = [];
  for (const chunk of chunks) {
    output.push(cursor.next(chunk));
    maxCarry = Math.max(maxCarry, cursor.carried);
  }
  output.push(cursor.end());
  return { out: Buffer.concat(output).toString('utf8'), maxCarry };
}

/** Every way to cut `text` into 2 pieces, and into 3 pieces. */
function splits(data: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  for (let i = 0; i <= data.length; i++) {
    out.push([data.subarray(0, i), data.subarray(i)]);
    for (let j = i; j <= data.length; j++) out.push([data.subarray(0, i), data.subarray(i, j), data.subarray(j)]);
  }
  return out;
}

const CASES: Array<{ name: string; secrets: string[]; text: string; expected: string }> = [
  { name: 'one secret in the middle', secrets: ['s3cr3t'], text: 'a s3cr3t b', expected: `a ${REDACTED} b` },
  { name: 'adjacent secrets', secrets: ['s3cr3t'], text: 's3cr3ts3cr3t', expected: `${REDACTED}${REDACTED}` },
  { name: 'overlapping occurrences: leftmost wins', secrets: ['abab'], text: 'ababab', expected: `${REDACTED}ab` },
  {
    name: 'different lengths, longest at the same start',
    secrets: ['pw', 'pw-long-secret'],
    text: 'x pw-long-secret pw y',
    expected: `x ${REDACTED} ${REDACTED} y`,
  },
  {
    name: 'secret inside another value',
    secrets: ['CANARY', 'Basic Q0FOQVJZ'],
    text: '{"a":"Basic Q0FOQVJZ","b":"CANARY"}',
    expected: `{"a":"${REDACTED}","b":"${REDACTED}"}`,
  },
  { name: 'no false replacement of a prefix', secrets: ['s3cr3t'], text: 's3cr3 s3cr s3cr3T', expected: 's3cr3 s3cr s3cr3T' },
  { name: 'multi-byte UTF-8 secret next to multi-byte text', secrets: ['пароль-✓'], text: 'é пароль-✓ ü', expected: `é ${REDACTED} ü` },
  { name: 'nothing to scrub', secrets: [], text: 'plain s3cr3t', expected: 'plain s3cr3t' },
  { name: 'empty body', secrets: ['s3cr3t'], text: '', expected: '' },
  { name: 'JSON-escaped quote and backslash', secrets: ['pa"ss\\w0rd'], text: '{"v":"pa\\"ss\\\\w0rd"}', expected: `{"v":"${REDACTED}"}` },
  {
    name: 'slash escaped as \\/ (PHP-style JSON)',
    secrets: ['a/b/secret'],
    text: '{"v":"a\\/b\\/secret","w":"a/b/secret"}',
    expected: `{"v":"${REDACTED}","w":"${REDACTED}"}`,
  },
  {
    name: 'percent-encoded in a URL or form body',
    secrets: ['key:with+plus='],
    text: 'next=/x?k=key%3Awith%2Bplus%3D&z=1',
    expected: `next=/x?k=${REDACTED}&z=1`,
  },
  { name: 'multi-byte secret percent-encoded', secrets: ['пароль'], text: 'p=%D0%BF%D0%B0%D1%80%D0%BE%D0%BB%D1%8C;', expected: `p=${REDACTED};` },
];

describe('ScrubCursor', () => {
  it.each(CASES)('$name: whole buffer', ({ secrets, text, expected }) => {
    expect(scrubBuffer(compileScrubber(secrets), Buffer.from(text)).toString('utf8')).toBe(expected);
  });

  it.each(CASES)('$name: split into 2 and 3 chunks at every offset', ({ secrets, text, expected }) => {
    const scrubber = compileScrubber(secrets);
    for (const chunks of splits(Buffer.from(text))) {
      const { out, maxCarry } = scrubChunks(scrubber, chunks);
      expect({ chunks: chunks.map((c) => c.toString('latin1')), out }).toEqual({ chunks: chunks.map((c) => c.toString('latin1')), out: expected });
      expect(maxCarry).toBeLessThanOrEqual(Math.max(0, scrubber.longest - 1));
    }
  });

  it('keeps at most longest − 1 bytes across many small chunks of a large body', () => {
    const scrubber = compileScrubber(['a-fairly-long-secret-value-0123456789', 'short']);
    const body = Buffer.from(`${'x'.repeat(5000)}a-fairly-long-secret-value-0123456789${'y'.repeat(5000)}short`);
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.length; i += 7) chunks.push(body.subarray(i, i + 7));
    const { out, maxCarry } = scrubChunks(scrubber, chunks);
    expect(out).toBe(`${'x'.repeat(5000)}${REDACTED}${'y'.repeat(5000)}${REDACTED}`);
    expect(maxCarry).toBeLessThanOrEqual(scrubber.longest - 1);
  });

  it('compiles one raw needle for an ASCII secret, and a Latin-1 one beside the UTF-8 one when it fits in one byte per character', () => {
    expect(compileScrubber(['plain-secret-123']).needles.map(String)).toEqual(['plain-secret-123']);
    const needles = compileScrubber(['pässwörd']).needles;
    expect(needles.map((n) => n.toString('hex'))).toEqual([Buffer.from('pässwörd', 'utf8').toString('hex'), Buffer.from('pässwörd', 'latin1').toString('hex')]);
    expect(compileScrubber(['пароль']).needles).toHaveLength(1); // not representable in Latin-1
  });

  it('a secret with a lone surrogate still compiles and is scrubbed raw', () => {
    const scrubber = compileScrubber(['x\ud800-secret']);
    expect(scrubBuffer(scrubber, Buffer.from('<x\ud800-secret>')).toString('utf8')).toBe(`<${REDACTED}>`);
  });

  it('scrubs header values as latin1, in their UTF-8 and their Latin-1 bytes', () => {
    const scrubber = compileScrubber(['tok-✓']);
    const onTheWire = Buffer.from('a=tok-✓; Path=/', 'utf8').toString('latin1');
    expect(scrubHeaderValue(scrubber, onTheWire)).toBe(`a=${REDACTED}; Path=/`);
    expect(scrubHeaderValue(scrubber, 'nothing here')).toBe('nothing here');
    expect(scrubHeaderValue(compileScrubber(['clé-ä']), 'x clé-ä y')).toBe(`x ${REDACTED} y`); // a latin1 string: E9, E4
  });

  it('finds a secret in a header name whatever its case and spelling', () => {
    const scrubber = compileScrubber(['AbC-Secret-9']);
    expect(containsSecretCaseless(scrubber, 'x-echo-abc-secret-9')).toBe(true);
    expect(containsSecretCaseless(scrubber, 'x-abc%2dsecret-9')).toBe(true);
    expect(containsSecretCaseless(scrubber, 'x-abc-secret')).toBe(false);
    expect(containsSecretCaseless(compileScrubber([]), 'anything')).toBe(false);
  });
});

/** `value` written by one encoder an upstream may use, as bytes; null where that encoder cannot carry the value whole. */
const SPELLERS: Record<string, (value: string) => Buffer | null> = {
  raw: (v) => Buffer.from(v, 'utf8'),
  latin1: (v) => ([...v].some((c) => c.charCodeAt(0) > 0xff) ? null : Buffer.from(v, 'latin1')),
  'JSON.stringify': (v) => Buffer.from(JSON.stringify(v).slice(1, -1)),
  'JSON with \\/ (PHP)': (v) => Buffer.from(JSON.stringify(v).slice(1, -1).replaceAll('/', '\\/')),
  'JSON ensure_ascii (Python)': (v) =>
    Buffer.from(
      JSON.stringify(v)
        .slice(1, -1)
        .split('')
        .map((u) => (u.charCodeAt(0) > 0x7e ? `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}` : u))
        .join(''),
    ),
  'JSON ensure_ascii upper-case hex': (v) =>
    Buffer.from(
      v
        .split('')
        .map((u) => (u.charCodeAt(0) > 0x7e || u === '"' || u === '\\' ? `\\u${u.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : u))
        .join(''),
    ),
  encodeURIComponent: (v) => Buffer.from(encodeURIComponent(v)),
  'lower-case percent-encoding': (v) => Buffer.from(encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())),
  'RFC 3986 (every reserved character)': (v) => Buffer.from(encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)),
  'URLSearchParams (form, + for space)': (v) => Buffer.from(new URLSearchParams({ k: v }).toString().slice(2)),
  'WHATWG URL path': (v) => (/[/?#\\%]/.test(v) ? null : Buffer.from(new URL(`http://h/${v}`).pathname.slice(1))),
  'WHATWG URL query': (v) => (/[#%]/.test(v) ? null : Buffer.from(new URL(`http://h/?${v}`).search.slice(1))),
  'WHATWG URL fragment': (v) => (v.includes('%') ? null : Buffer.from(new URL(`http://h/#${v}`).hash.slice(1))),
  'Latin-1 percent-encoding (PHP urlencode of a Latin-1 string)': (v) =>
    [...v].some((c) => c.charCodeAt(0) > 0xff)
      ? null
      : Buffer.from([...Buffer.from(v, 'latin1')].map((b) => (b >= 0x80 || b === 0x27 ? `%${b.toString(16).toUpperCase()}` : String.fromCharCode(b))).join('')),
  'HTML escaped (named)': (v) =>
    Buffer.from(v.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&apos;')),
  'HTML escaped (Go html/template, decimal)': (v) =>
    Buffer.from(v.replaceAll('&', '&amp;').replaceAll('"', '&#34;').replaceAll("'", '&#39;').replaceAll('+', '&#43;')),
  'HTML escaped (Python html.escape, hex)': (v) =>
    Buffer.from(v.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll("'", '&#x27;').replaceAll('<', '&lt;')),
  'HTML numeric references for every character': (v) => Buffer.from([...v].map((c) => `&#${c.codePointAt(0)};`).join('')),
};

/** Secrets with characters the encoders above treat differently. */
const TRICKY_SECRETS = [`it's "q" <a&b> {x}^|~!*()`, 'päss wörd+/=?#%', 'snow☃-𝄞-key', 'back\\slash$@:;,[]`'];

describe('scrubbing every spelling an upstream may echo', () => {
  const ALL = Object.entries(SPELLERS);

  it.each(TRICKY_SECRETS.flatMap((secret) => ALL.map(([name, speller]) => [name, secret, speller] as const)))('%s of %j', (_name, secret, speller) => {
    const spelled = speller(secret);
    if (spelled === null) return;
    const body = Buffer.concat([Buffer.from('{"echo":"'), spelled, Buffer.from('","n":1}')]);
    const scrubber = compileScrubber([secret]);
    expect(scrubBuffer(scrubber, body).toString('latin1')).toBe(`{"echo":"${REDACTED}","n":1}`);
    // Chunked at every offset into two pieces: the same answer.
    for (let i = 0; i <= body.length; i++) {
      const { out } = scrubChunks(scrubber, [body.subarray(0, i), body.subarray(i)]);
      expect(Buffer.from(out, 'utf8').includes(spelled) ? out : null).toBeNull();
    }
  });

  it('scrubs a whole value exactly as long as the secret, and leaves a shorter one as it is', () => {
    const scrubber = compileScrubber(['k3y!']);
    expect(scrubBuffer(scrubber, Buffer.from('k3y!')).toString()).toBe(REDACTED);
    expect(scrubHeaderValue(scrubber, 'k3y!')).toBe(REDACTED);
    expect(scrubBuffer(scrubber, Buffer.from('k3y')).toString()).toBe('k3y');
    expect(scrubHeaderValue(scrubber, 'k3y')).toBe('k3y');
  });

  it('does not redact near misses', () => {
    const scrubber = compileScrubber(['secret-42']);
    const text = 'secret-4 secret%2D4 secret&#45;4 secret\\u002d4 %zzsecret-4 &#x; \\q';
    expect(scrubBuffer(scrubber, Buffer.from(text)).toString('utf8')).toBe(text);
  });

  it('holds back only the bytes of a match in progress', () => {
    const scrubber = compileScrubber(['a-fairly-long-secret']);
    const cursor = new ScrubCursor(scrubber);
    const output: Buffer[] = [];
    output.push(cursor.next(Buffer.from('event: one\n\n')));
    expect(cursor.carried).toBe(0);
    expect(Buffer.concat(output).toString()).toBe('event: one\n\n');
    output.push(cursor.next(Buffer.from('data: a-fairly')));
    expect(cursor.carried).toBe('a-fairly'.length);
    expect(Buffer.concat(output).toString()).toBe('event: one\n\ndata: ');
    output.push(cursor.next(Buffer.from('%2Dlong-secret!')));
    output.push(cursor.end());
    expect(Buffer.concat(output).toString()).toBe(`event: one\n\ndata: ${REDACTED}!`);
  });

  it('throws when its own scan fails, instead of returning bytes it did not scrub', () => {
    // A scrubber whose pattern list is corrupt: the match attempt at "abc" reads a field of null.
    const broken = { ...compileScrubber(['abc']), patterns: [null] } as unknown as Scrubber;
    const cursor = new ScrubCursor(broken);
    expect(() => cursor.next(Buffer.from('xx abc xx'))).toThrow(TypeError);
    const holding = new ScrubCursor(broken);
    expect(() => holding.next(Buffer.from('xx ab'))).toThrow(TypeError);
  });

  it('gives the same output for any chunking of random text around secrets in random spellings', () => {
    const secrets = ['k3y/"x"', 'pässwörd'];
    const scrubber = compileScrubber(secrets);
    const spellers = Object.values(SPELLERS);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.tuple(fc.constantFrom(...secrets), fc.nat(spellers.length - 1))), { maxLength: 8 }),
        fc.array(fc.nat(60), { maxLength: 6 }),
        (pieces, cuts) => {
          const body = Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : (spellers[p[1]](p[0]) ?? Buffer.from(p[0])))));
          const whole = scrubBuffer(scrubber, body);
          const offsets = [...new Set(cuts.map((c) => Math.min(c, body.length)))].sort((a, b) => a - b);
          const chunks = [0, ...offsets].map((from, i) => body.subarray(from, offsets[i] ?? body.length));
          const { out } = scrubChunks(scrubber, chunks);
          expect(out).toBe(whole.toString('utf8'));
        },
      ),
      { seed: 4242, numRuns: 300 },
    );
  });

  it('gives the same output when held bytes are settled with only the start of a long next chunk', () => {
    const secrets = ['k3y/"x"', 'pässwörd'];
    const scrubber = compileScrubber(secrets);
    const spellers = Object.values(SPELLERS);
    // Filler of the secrets' first characters and escape starts, so that chunks often end in a match in progress.
    const filler = fc.array(fc.constantFrom('k', 'p', 'k3', 'pä', '\\', '\\u00', '%', '%6', '&#', 'z', ' '), { maxLength: 80 }).map((parts) => parts.join(''));
    let settledWithPart = 0;
    fc.assert(
      fc.property(
        fc.array(fc.oneof(filler, fc.tuple(fc.constantFrom(...secrets), fc.nat(spellers.length - 1))), { minLength: 8, maxLength: 24 }),
        fc.array(fc.nat(3000), { minLength: 2, maxLength: 12 }),
        (pieces, cuts) => {
          const body = Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : (spellers[p[1]](p[0]) ?? Buffer.from(p[0])))));
          const offsets = [...new Set(cuts.map((c) => Math.min(c, body.length)))].sort((a, b) => a - b);
          const chunks = [0, ...offsets].map((from, i) => body.subarray(from, offsets[i] ?? body.length));
          const cursor = new ScrubCursor(scrubber);
          const output: Buffer[] = [];
          for (const chunk of chunks) {
            if (cursor.carried > 0 && chunk.length > scrubber.longest) settledWithPart += 1;
            output.push(cursor.next(chunk));
            expect(cursor.carried).toBeLessThan(scrubber.longest);
          }
          output.push(cursor.end());
          expect(Buffer.concat(output).toString('utf8')).toBe(scrubBuffer(scrubber, body).toString('utf8'));
        },
      ),
      { seed: 4343, numRuns: 500 },
    );
    // The property is about that path: make sure the runs took it.
    expect(settledWithPart).toBeGreaterThan(100);
  });
});

describe('the candidate search gives what trying every position gives', () => {
  /** Bytes that start escapes or secrets, hex digits, the letters escapes use, and filler. */
  const ALPHABET = ['%', '\\', '&', '+', '#', ';', 'u', 'x', 'n', 'a', 'm', 'p', 'q', '2', 'F', '0', ' ', '"', 'k', '3', 'y', '/', 'ä', 'é', 'z'];

  function scan(kind: 'candidates' | 'every', scrubber: Scrubber, data: Buffer, final: boolean): { emitted: number; out: string } {
    const out: Buffer[] = [];
    const emitted = kind === 'candidates' ? scrubInto(scrubber, data, final, out) : scanEveryPosition(scrubber, data, final, out, false);
    return { emitted, out: Buffer.concat(out).toString('latin1') };
  }

  it.each([
    ['ASCII with JSON and URL characters', ['k3y/"x"']],
    ['Latin-1 characters and a space', ['pä ss', 'é+&']],
    ['several secrets of different lengths', ['ab', 'k3y%2F', 'q&amp;']],
    // Only the last character needs escaping: a match whose escape is as far from its start as can be.
    ['an escapable last character', ['key"']],
    ['a reserved last character', ['k3y/']],
  ])('%s', (_name, secrets) => {
    const scrubber = compileScrubber(secrets);
    const spellers = Object.values(SPELLERS);
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.array(fc.constantFrom(...ALPHABET), { maxLength: 40 }).map((chars) => Buffer.from(chars.join(''))),
            fc.tuple(fc.constantFrom(...secrets), fc.nat(spellers.length - 1)).map(([s, i]) => spellers[i](s) ?? Buffer.from(s)),
            // A spelled secret cut short: the scan must hold it back exactly as trying every position does.
            fc
              .tuple(fc.constantFrom(...secrets), fc.nat(spellers.length - 1), fc.nat(30))
              .map(([s, i, cut]) => (spellers[i](s) ?? Buffer.from(s)).subarray(0, cut)),
          ),
          { maxLength: 10 },
        ),
        fc.nat(),
        fc.boolean(),
        (pieces, cut, final) => {
          // Ends anywhere: in a chunk, a match may be cut at any byte.
          const whole = Buffer.concat(pieces);
          const data = whole.subarray(0, cut % (whole.length + 1));
          expect(scan('candidates', scrubber, data, final)).toEqual(scan('every', scrubber, data, final));
        },
      ),
      { seed: 1717, numRuns: 3000 },
    );
  });

  it('skips escapes that spell no character of a secret, and still finds the one that does', () => {
    const scrubber = compileScrubber(['tok-%41']);
    const noise = '\\n\\"&amp;%20'.repeat(500);
    const text = `${noise}tok%2D%2541${noise}tok-%41${noise}`;
    expect(scrubBuffer(scrubber, Buffer.from(text)).toString()).toBe(`${noise}${REDACTED}${noise}${REDACTED}${noise}`);
  });
});
