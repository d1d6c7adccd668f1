/** The scrubbing Transform: chunking never changes the output, carry-over stays bounded. */
import { buffer } from 'node:stream/consumers';
import { compileScrubber, REDACTED, ScrubStream, scrubBuffer, scrubHeaderValue, type Scrubber } from '../../../proxy/src/forward/scrub/stream';

async function scrubChunks(scrubber: Scrubber, chunks: Buffer[]): Promise<{ out: string; maxCarry: number }> {
  const stream = new ScrubStream(scrubber);
  let maxCarry = 0;
  const result = buffer(stream);
  for (const chunk of chunks) {
    await new Promise<void>((resolve, reject) => stream.write(chunk, (err) => (err ? reject(err) : resolve())));
    maxCarry = Math.max(maxCarry, stream.carried);
  }
  stream.end();
  return { out: (await result).toString('utf8'), maxCarry };
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
  { name: 'different lengths, longest at the same start', secrets: ['pw', 'pw-long-secret'], text: 'x pw-long-secret pw y', expected: `x ${REDACTED} ${REDACTED} y` },
  { name: 'secret inside another value', secrets: ['CANARY', 'Basic Q0FOQVJZ'], text: '{"a":"Basic Q0FOQVJZ","b":"CANARY"}', expected: `{"a":"${REDACTED}","b":"${REDACTED}"}` },
  { name: 'no false replacement of a prefix', secrets: ['s3cr3t'], text: 's3cr3 s3cr s3cr3T', expected: 's3cr3 s3cr s3cr3T' },
  { name: 'multi-byte UTF-8 secret next to multi-byte text', secrets: ['пароль-✓'], text: 'é пароль-✓ ü', expected: `é ${REDACTED} ü` },
  { name: 'nothing to scrub', secrets: [], text: 'plain s3cr3t', expected: 'plain s3cr3t' },
  { name: 'empty body', secrets: ['s3cr3t'], text: '', expected: '' },
];

describe('ScrubStream', () => {
  it.each(CASES)('$name: whole buffer', ({ secrets, text, expected }) => {
    expect(scrubBuffer(compileScrubber(secrets), Buffer.from(text)).toString('utf8')).toBe(expected);
  });

  it.each(CASES)('$name: split into 2 and 3 chunks at every offset', async ({ secrets, text, expected }) => {
    const scrubber = compileScrubber(secrets);
    for (const chunks of splits(Buffer.from(text))) {
      const { out, maxCarry } = await scrubChunks(scrubber, chunks);
      expect({ chunks: chunks.map((c) => c.toString('latin1')), out }).toEqual({ chunks: chunks.map((c) => c.toString('latin1')), out: expected });
      expect(maxCarry).toBeLessThanOrEqual(Math.max(0, scrubber.longest - 1));
    }
  });

  it('keeps at most longest − 1 bytes across many small chunks of a large body', async () => {
    const scrubber = compileScrubber(['a-fairly-long-secret-value-0123456789', 'short']);
    const body = Buffer.from(`${'x'.repeat(5000)}a-fairly-long-secret-value-0123456789${'y'.repeat(5000)}short`);
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.length; i += 7) chunks.push(body.subarray(i, i + 7));
    const { out, maxCarry } = await scrubChunks(scrubber, chunks);
    expect(out).toBe(`${'x'.repeat(5000)}${REDACTED}${'y'.repeat(5000)}${REDACTED}`);
    expect(maxCarry).toBeLessThanOrEqual(scrubber.longest - 1);
  });

  it('scrubs header values as latin1', () => {
    const scrubber = compileScrubber(['tok-✓']);
    const onTheWire = Buffer.from('a=tok-✓; Path=/', 'utf8').toString('latin1');
    expect(scrubHeaderValue(scrubber, onTheWire)).toBe(`a=${REDACTED}; Path=/`);
    expect(scrubHeaderValue(scrubber, 'nothing here')).toBe('nothing here');
  });
});
