/**
 * The inject types whose credential is made per request or per token lifetime rather than
 * copied from Vault as it is: `oauth2` (an access token minted at the service's token
 * endpoint), `aws-sigv4` (AWS Signature Version 4) and `hmac` (an HMAC-SHA256 request
 * signature). Kept apart from schema.ts, which composes them into the `inject` union.
 */
import { z } from 'zod';

/** What schema.ts lends these shapes: its URL check and its rule for injectable header names. */
export interface SigningShapeHelpers {
  httpUrl: (what: string) => z.ZodType<string>;
  injectableHeaderName: () => z.ZodType<string>;
}

/** Field names inside the Vault secret; each may be overridden per service. */
const fieldName = (fallback: string) => z.string().min(1, 'must name a field of the Vault secret').default(fallback);

/** The three shapes, built with schema.ts's helpers (no import cycle). */
export function signingInjectSchemas(helpers: SigningShapeHelpers) {
  const oauth2 = z.strictObject({
    type: z.literal('oauth2'),
    /** client_credentials: the client's own token; refresh_token: a user's grant, kept current in Vault. */
    grant: z.enum(['client_credentials', 'refresh_token'], { error: 'must be client_credentials or refresh_token' }),
    /** The token endpoint; checked by the same address guard as the service target. */
    tokenUrl: helpers.httpUrl('inject.tokenUrl'),
    scope: z.string().min(1, 'must not be empty; leave it out to ask for the default scope').optional(),
    /** Sent as `audience` (Auth0, Okta and others use it to pick the API). */
    audience: z.string().min(1, 'must not be empty').optional(),
    /** basic: HTTP Basic client authentication (RFC 6749 2.3.1, the default); body: client_id and client_secret in the form. */
    clientAuth: z.enum(['basic', 'body'], { error: 'must be basic or body' }).default('basic'),
    clientIdField: fieldName('client_id'),
    clientSecretField: fieldName('client_secret'),
    refreshTokenField: fieldName('refresh_token'),
  });
  const awsSigV4 = z.strictObject({
    type: z.literal('aws-sigv4'),
    region: z.string().regex(/^[a-z0-9-]+$/, 'must be an AWS region like "eu-west-1"'),
    service: z.string().regex(/^[a-z0-9-]+$/, 'must be an AWS signing name like "s3" or "execute-api"'),
    /** signed: the body's SHA-256 is signed (it is buffered up to maxBodyBytes); unsigned: UNSIGNED-PAYLOAD, streamed (S3 over TLS). */
    payload: z.enum(['signed', 'unsigned'], { error: 'must be signed or unsigned' }).default('signed'),
    accessKeyIdField: fieldName('access_key_id'),
    secretAccessKeyField: fieldName('secret_access_key'),
    sessionTokenField: fieldName('session_token'),
  });
  const hmac = z
    .strictObject({
      type: z.literal('hmac'),
      field: fieldName('key'),
      header: helpers.injectableHeaderName().default('X-Signature'),
      timestampHeader: helpers.injectableHeaderName().default('X-Timestamp'),
    })
    .refine((inject) => inject.header.toLowerCase() !== inject.timestampHeader.toLowerCase(), {
      path: ['timestampHeader'],
      message: 'must differ from header: the signature and the timestamp travel in two headers',
    });
  return { oauth2, awsSigV4, hmac };
}
