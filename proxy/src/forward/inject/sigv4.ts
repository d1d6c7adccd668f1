/**
 * `inject: { type: aws-sigv4, region, service, payload }`: AWS Signature Version 4, signed by
 * the AWS SDK's own signer (@smithy/signature-v4) over the request as it is sent:
 * - the path put into AWS's canonical encoding (each segment decoded and RFC 3986-encoded) and
 *   sent in that form, the target's base path included; escaped once more for every service
 *   but S3, as AWS specifies;
 * - the query put into canonical form (decoded, RFC 3986-encoded, which the signer sorts),
 *   and sent in exactly that form, so what is signed is what arrives;
 * - `host`, `content-type`, `content-md5` and every `x-amz-*` header the client sent; other
 *   headers stay unsigned, so nothing on the way can break the signature by touching them;
 * - `x-amz-content-sha256`: the SHA-256 of the body, which is read whole first (up to the
 *   service's maxBodyBytes, held in memory while it is signed and sent), or
 *   `UNSIGNED-PAYLOAD` with `payload: unsigned`, which streams the body unread (S3 over TLS);
 * - `x-amz-security-token` when the secret has a session token.
 */
import type { Hash } from '@smithy/hash-node';
import type { SignatureV4 } from '@smithy/signature-v4';
import type { InjectConfig } from '../../config/schema';
import { ProxyError } from '../../contract/proxy-error';
import type { SecretData } from '../../secrets/types';
import { requestTarget, targetBasePath } from '../upstream';
import { freezeInjection, requireField, uniqueValues, type Injection, type Injector, type RequestSigner } from './types';

type SigV4Config = Extract<InjectConfig, { type: 'aws-sigv4' }>;

interface AwsSigner {
  SignatureV4: typeof SignatureV4;
  Hash: typeof Hash;
}
let awsSigner: AwsSigner | undefined;

/**
 * The AWS SDK's signer, loaded by the first aws-sigv4 service compiled rather than at startup:
 * its modules would stay in the heap of every proxy, SigV4 or not, and each full garbage
 * collection marks the whole heap; while large bodies are relayed those come every few dozen
 * megabytes (Node's read buffers count towards the heap's limit).
 */
function loadAwsSigner(): AwsSigner {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see above */
  awsSigner ??= {
    SignatureV4: (require('@smithy/signature-v4') as typeof import('@smithy/signature-v4')).SignatureV4,
    Hash: (require('@smithy/hash-node') as typeof import('@smithy/hash-node')).Hash,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return awsSigner;
}

/** The headers a SigV4 injection sets; a client's own are dropped first. */
export const SIGV4_HEADERS = ['authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token'] as const;

const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** Client headers that are signed besides `x-amz-*`. */
const SIGNED_PLAIN_HEADERS: ReadonlySet<string> = new Set(['content-type', 'content-md5']);

/** One `name=value` query piece, decoded; null when its escapes are malformed. */
type QueryPairs = Record<string, string | string[]>;

/** Decodes the query as sent into the pairs the signer canonicalises; throws PATH_REJECTED on a malformed escape. */
export function parseQueryForSigning(query: string): QueryPairs {
  const pairs: QueryPairs = {};
  if (query === '') return pairs;
  for (const piece of query.split('&')) {
    if (piece === '') continue;
    const equals = piece.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(equals === -1 ? piece : piece.slice(0, equals));
      value = equals === -1 ? '' : decodeURIComponent(piece.slice(equals + 1));
    } catch (err) {
      if (!(err instanceof URIError)) throw err;
      throw new ProxyError('PATH_REJECTED', 'The query string has a malformed percent escape, which cannot be signed for AWS; encode it as %25.');
    }
    const existing = pairs[name];
    if (existing === undefined) pairs[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else pairs[name] = [existing, value];
  }
  return pairs;
}

/** RFC 3986 encoding as AWS canonicalises it (encodeURIComponent leaves !'()* alone). */
function awsEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The path in AWS's encoding: each segment decoded and RFC 3986-encoded, so an encoded `/` stays encoded. Throws PATH_REJECTED on a malformed escape. */
export function canonicalPath(path: string): string {
  return path
    .split('/')
    .map((segment) => {
      try {
        return awsEncode(decodeURIComponent(segment));
      } catch (err) {
        if (!(err instanceof URIError)) throw err;
        throw new ProxyError('PATH_REJECTED', 'The path has a malformed percent escape, which cannot be signed for AWS; encode it as %25.');
      }
    })
    .join('/');
}

/** The query string the signer signs, in the order it signs it: names, then values, sorted by code point. */
export function canonicalQuery(pairs: QueryPairs): string {
  const pieces: string[] = [];
  for (const name of Object.keys(pairs)) {
    const value = pairs[name];
    for (const one of Array.isArray(value) ? value : [value]) pieces.push(`${awsEncode(name)}=${awsEncode(one)}`);
  }
  return pieces.sort().join('&');
}

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Compiles an aws-sigv4 service against its target (whose host and base path are signed). */
export function compileSigV4(config: SigV4Config, secretPath: string, target: URL, now: () => Date = () => new Date()): Injector {
  const { region, service } = config;
  // At compile time, so a broken install fails the start, not the first request.
  const { SignatureV4, Hash } = loadAwsSigner();
  const unsigned = config.payload === 'unsigned';
  // S3 signs the path as sent; every other service signs it URI-encoded once more.
  const uriEscapePath = service !== 's3';
  const basePath = targetBasePath(target);
  const memo = new WeakMap<SecretData, { injection: Injection; signer: SignatureV4 }>();

  const prepared = (secret: SecretData): { injection: Injection; signer: SignatureV4 } => {
    let entry = memo.get(secret);
    if (entry === undefined) {
      const credentials: Credentials = {
        accessKeyId: requireField(secret, config.accessKeyIdField, secretPath, 'header'),
        secretAccessKey: requireField(secret, config.secretAccessKeyField, secretPath, 'encoded'),
      };
      if (Object.hasOwn(secret, config.sessionTokenField)) credentials.sessionToken = requireField(secret, config.sessionTokenField, secretPath, 'header');
      entry = {
        // The key id is not secret (like a user name); the key and the session token are.
        injection: freezeInjection({
          headers: [],
          query: null,
          queryString: null,
          secretValues: uniqueValues([credentials.secretAccessKey, credentials.sessionToken ?? '']),
        }),
        signer: new SignatureV4({ credentials, region, service, sha256: Hash.bind(null, 'sha256'), uriEscapePath, applyChecksum: true }),
      };
      memo.set(secret, entry);
    }
    return entry;
  };

  const signer: RequestSigner = {
    needsBody: !unsigned,
    async sign(request, body, secret) {
      const { signer: sigv4 } = prepared(secret);
      const questionMark = request.pathAndQuery.indexOf('?');
      // What is signed is what is sent: the path and the query both go out in canonical form.
      const relativePath = canonicalPath(questionMark === -1 ? request.pathAndQuery : request.pathAndQuery.slice(0, questionMark));
      const query = parseQueryForSigning(questionMark === -1 ? '' : request.pathAndQuery.slice(questionMark + 1));
      const headers: Record<string, string> = { host: target.host };
      for (const [name, value] of Object.entries(request.headers)) {
        if (value === undefined || !(name.startsWith('x-amz-') || SIGNED_PLAIN_HEADERS.has(name))) continue;
        headers[name] = Array.isArray(value) ? value.join(',') : value;
      }
      for (const name of SIGV4_HEADERS) delete headers[name];
      if (unsigned) headers['x-amz-content-sha256'] = UNSIGNED_PAYLOAD;
      const signed = await sigv4.sign(
        {
          method: request.method,
          protocol: target.protocol,
          hostname: target.hostname,
          path: requestTarget(basePath, relativePath),
          query,
          headers,
          body: unsigned ? undefined : (body ?? Buffer.alloc(0)),
        },
        { signingDate: now() },
      );
      const out: Array<[string, string]> = [['host', target.host]];
      for (const name of SIGV4_HEADERS) {
        const value = signed.headers[name];
        if (value !== undefined) out.push([name, value]);
      }
      const canonical = canonicalQuery(query);
      return { headers: out, pathAndQuery: canonical === '' ? relativePath : `${relativePath}?${canonical}` };
    },
  };

  return {
    type: 'aws-sigv4',
    description: redactSigV4(config),
    apply: (secret) => prepared(secret).injection,
    signer,
  };
}

export function redactSigV4(config: SigV4Config): string {
  return `AWS SigV4 (${config.service}, ${config.region}, ${config.payload} payload) with the key from fields '${config.accessKeyIdField}' and '${config.secretAccessKeyField}'`;
}
