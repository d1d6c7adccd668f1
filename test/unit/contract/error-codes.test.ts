import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, type ErrorCode } from '../../../proxy/src/contract/contract';
import { ProxyError } from '../../../proxy/src/contract/proxy-error';

/** Keeps docs/error-codes.md and the contract in step: every code documented with its status and source. */
describe('error codes', () => {
  const doc = readFileSync(join(__dirname, '../../../docs/error-codes.md'), 'utf8');
  const rows = new Map(
    [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (proxy|vault|upstream) \|/gm)].map((m) => [m[1], { status: Number(m[2]), source: m[3] }]),
  );

  it.each(Object.entries(ERROR_CODES))('%s is documented with its status and source', (code, spec) => {
    expect(rows.get(code)).toEqual({ status: spec.status, source: spec.source });
  });

  it('documents no code the contract lacks', () => {
    expect([...rows.keys()].filter((code) => !(code in ERROR_CODES))).toEqual([]);
  });

  it('gives every ProxyError the status and source of its code', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const error = new ProxyError(code, 'm');
      expect([error.status, error.source]).toEqual([ERROR_CODES[code].status, ERROR_CODES[code].source]);
    }
  });
});
