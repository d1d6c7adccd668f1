/**
 * `inject: { type: hmac, field, header, timestampHeader }`: an HMAC-SHA256 signature over the
 * request as the API receives it:
 *
 *   signature = hex(HMAC-SHA256(key, timestamp + "." + METHOD + "." + path-and-query + "." + hex(sha256(body))))
 *
 * with `timestamp` in Unix seconds (sent in `timestampHeader`) and the path and query as sent,
 * the target's base path included. The header must go out before the body, so the body is
 * read whole first (up to the service's maxBodyBytes) and sent from memory.
 */
import { createHash, createHmac } from 'node:crypto';
import type { InjectConfig } from '../../config/schema';
import { requestTarget, targetBasePath } from '../upstream';
import { freezeInjection, requireField, type Injector, type RequestSigner } from './types';

type HmacConfig = Extract<InjectConfig, { type: 'hmac' }>;

/** hex(sha256("")), the body hash of a request without one. */
const EMPTY_BODY_SHA256 = createHash('sha256').digest('hex');

/** The string the signature covers; exported so tests can state the format once. */
export function hmacStringToSign(timestamp: string, method: string, pathAndQuery: string, bodySha256Hex: string): string {
  return `${timestamp}.${method}.${pathAndQuery}.${bodySha256Hex}`;
}

/** Compiles an hmac service: `apply` only names the key as a secret value; `signer` does the work per request. */
export function compileHmac(config: HmacConfig, secretPath: string, target: URL, now: () => number = Date.now): Injector {
  const { field } = config;
  const basePath = targetBasePath(target);
  const header = config.header.toLowerCase();
  const timestampHeader = config.timestampHeader.toLowerCase();
  const memo = new WeakMap<object, ReturnType<typeof freezeInjection>>();
  const signer: RequestSigner = {
    needsBody: true,
    sign(request, body, secret) {
      const key = requireField(secret, field, secretPath, 'encoded');
      const timestamp = String(Math.floor(now() / 1000));
      const bodyHash = body === null || body.length === 0 ? EMPTY_BODY_SHA256 : createHash('sha256').update(body).digest('hex');
      const signature = createHmac('sha256', key)
        .update(hmacStringToSign(timestamp, request.method, requestTarget(basePath, request.pathAndQuery), bodyHash))
        .digest('hex');
      return Promise.resolve({
        headers: [
          [timestampHeader, timestamp],
          [header, signature],
        ],
        pathAndQuery: request.pathAndQuery,
      });
    },
  };
  return {
    type: 'hmac',
    description: redactHmac(config),
    apply(secret) {
      let injection = memo.get(secret);
      if (injection === undefined) {
        const key = requireField(secret, field, secretPath, 'encoded');
        injection = freezeInjection({ headers: [], query: null, queryString: null, secretValues: [key] });
        memo.set(secret, injection);
      }
      return injection;
    },
    signer,
  };
}

export function redactHmac(config: HmacConfig): string {
  return `HMAC-SHA256 signature in '${config.header}' (timestamp in '${config.timestampHeader}') with the key from field '${config.field}'`;
}
