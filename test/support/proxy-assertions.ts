/**
 * Assertions shared by the suites that drive the whole proxy over HTTP: the shape of a
 * proxy-made error (status, `x-secure-proxy-error`, JSON body naming the side), and the proof
 * that no secret, proxy token or Vault token reached a response or a log line.
 */
import { ERROR_HEADER, type ErrorBody, type ErrorCode, type ErrorSource } from '../../proxy/src/contract/contract';

/** What a proxy answer looks like to these assertions (supertest's Response and raw reads both fit). */
export interface AnswerLike {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text?: string;
  body?: unknown;
}

/** Vault service tokens (`hvs.` + 24 base62 characters), whatever test created them. */
const VAULT_TOKEN_SHAPE = /hvs\.[A-Za-z0-9]{24}/;

/** Checks the contract's error answer exactly and returns its body. */
export function expectProxyError(res: AnswerLike, status: number, code: ErrorCode, source: ErrorSource): ErrorBody['error'] {
  const body = (res.text !== undefined && res.text !== '' ? JSON.parse(res.text) : res.body) as ErrorBody;
  expect({ status: res.status, header: res.headers[ERROR_HEADER], source: body?.error?.source, code: body?.error?.code }).toEqual({
    status,
    header: code,
    source,
    code,
  });
  expect(body.error).toEqual({ code, source, message: expect.any(String), requestId: res.headers['x-request-id'] });
  return body.error;
}

/** Fails when any of `texts` contains one of `hidden` or anything shaped like a Vault token. */
export function expectNothingHidden(texts: readonly string[], hidden: readonly string[]): void {
  const all = texts.join('\n');
  for (const value of hidden) {
    if (value === '') throw new Error('expectNothingHidden: an empty hidden value proves nothing');
    expect(all).not.toContain(value);
  }
  expect(all).not.toMatch(VAULT_TOKEN_SHAPE);
}
