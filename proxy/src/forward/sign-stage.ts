/**
 * The signing stage of the data plane, for services whose injector has a signer (AWS SigV4,
 * HMAC): after the headers are cleaned and injected, it reads the body whole when the
 * signature covers it, signs the request as it will be sent and sets the signature headers.
 * A body read here is sent from memory with a Content-Length (a chunked upload becomes a
 * sized one), so the bytes signed are the bytes sent.
 */
import type { Request } from 'express';
import type { SecretData } from '../secrets/types';
import { bufferRequestBody } from './body-buffer';
import type { BodyLimits } from './body-limit';
import type { RequestSigner } from './inject';

/** What the exchange forwards after signing. */
export interface SignedOutgoing {
  /** Below the target's base path, as `upstream.send` takes it. */
  readonly pathAndQuery: string;
  /** The body to send instead of streaming the request, or null to stream it. */
  readonly body: Buffer | null;
}

/** Signs `req` in place (headers) and says what to forward. Rejects with a ProxyError, or the client's own error. */
export async function signOutgoing(req: Request, signer: RequestSigner, limits: BodyLimits, pathAndQuery: string, secret: SecretData): Promise<SignedOutgoing> {
  const headers = req.headers;
  const hadBody = headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined;
  const body = signer.needsBody ? await bufferRequestBody(req, limits) : null;
  const signed = await signer.sign({ method: req.method, pathAndQuery, headers }, body, secret);
  for (const [name, value] of signed.headers) headers[name] = value;
  if (body !== null && hadBody) {
    headers['content-length'] = String(body.length);
    delete headers['transfer-encoding'];
  }
  return { pathAndQuery: signed.pathAndQuery, body };
}
