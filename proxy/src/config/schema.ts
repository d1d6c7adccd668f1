/**
 * The proxy's configuration shape, validated once at start. Every problem is reported with
 * the dotted path of the field and what was expected, all problems in one error.
 *
 * The shape documented in docs/configuration.md (`listen`, `vault`, `clients`, `services`) is a
 * promise: fields may be added, none renamed or removed. Its reference table lists every field
 * with its default; test/unit/config/docs-reference.test.ts keeps the two in step.
 */
import { z } from 'zod';
import {
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_HEADER_BYTES,
} from './defaults';
import { caBundleProblem } from './ca-bundle';
import { signingInjectSchemas } from './signing-inject';
import { didYouMean } from '../shared/suggest';
import { serviceLimitsSchema } from './service-limits';
import { workflowRuleProblems, workflowRulesSchema } from './workflow-rules';

/** `type/subtype` or `type/*`, lower case. */
const MEDIA_RANGE = /^[a-z0-9!#$&^_.+-]+\/(?:\*|[a-z0-9!#$&^_.+-]+)$/;

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Headers the proxy must own or that would break framing; injection may not set them. */
const RESERVED_HEADER_NAMES = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
  'proxy-authorization',
  'proxy-authenticate',
  'x-request-id',
]);

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Service and client names appear in URLs, metrics labels and logs: keep them plain. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** `name`, `name:port`, `1.2.3.4:port` or `[v6]:port`, as a Host header carries it. */
const HOST_ENTRY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::([0-9]{1,5}))?$/;

// Shared with the token records' schema (auth/vault-records/record.ts), which parses records
// read from Vault while serving: these stay at module level, unlike the config schema below.
const SHA256_REF = /^sha256:[0-9a-f]{64}$/;
const TOKEN_HASH_MESSAGE = 'must be "sha256:" followed by 64 lower-case hex characters';
/** The `<id>` part of an `spt_<id>_<secret>` token. */
const TOKEN_ID = /^[a-z0-9]{1,32}$/;
/** An ISO 8601 date-time with a zone (`Z` or an offset), as token expiries are written. */
const isoDateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2027-01-31T00:00:00Z' });

/** Default of tokenStore.path; the token commands use it too when the config has no tokenStore. */
export const DEFAULT_TOKEN_RECORDS_PATH = 'secure-proxy/clients';

/** Default of tokenExpiryWarningSeconds (one week); `token list` calls a token "expiring" within it. */
export const DEFAULT_TOKEN_EXPIRY_WARNING_SECONDS = 604800;

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

/**
 * Builds the zod schema of the config file. Called through configSchema(), never at module
 * load: see there.
 */
function defineConfigSchema() {
  const httpUrl = (what: string) =>
    z.string().superRefine((value, ctx) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: `${what} must be an absolute http(s) URL, got "${value}"` });
        return;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        ctx.addIssue({ code: 'custom', message: `${what} must use http or https, got "${url.protocol}"` });
      }
      if (url.username || url.password) {
        ctx.addIssue({ code: 'custom', message: `${what} must not carry credentials in the URL; put them in Vault` });
      }
      if (url.search || url.hash) {
        ctx.addIssue({ code: 'custom', message: `${what} must not have a query or fragment` });
      }
    });

  /** A Vault KV path relative to the mount: no leading slash, no dot segments, no empty segments. */
  const kvPath = z
    .string()
    .min(1)
    .refine((p) => p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'), {
      message: 'must be a KV path like "team/service" (no leading or trailing slash, no empty, "." or ".." segments)',
    });

  const duration = (what: string, def: number) =>
    z
      .number({ error: `${what} must be a number` })
      .int()
      .positive()
      .default(def);

  /** A PEM CA bundle file, read and checked at load: Node would silently ignore one it cannot parse. */
  const caBundleFile = z
    .string()
    .min(1, 'must be the path of a PEM CA bundle')
    .superRefine((path, ctx) => {
      const problem = caBundleProblem(path);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    });

  const tokenAuth = z.strictObject({ method: z.literal('token'), token: z.string().min(1, 'must not be empty') });
  const appRoleAuth = z.strictObject({
    method: z.literal('approle'),
    roleId: z.string().min(1, 'must not be empty'),
    secretId: z.string().min(1, 'must not be empty'),
    mount: z.string().min(1).default('approle'),
  });
  const kubernetesAuth = z.strictObject({
    method: z.literal('kubernetes'),
    role: z.string().min(1, 'must not be empty'),
    jwtPath: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
    mount: z.string().min(1).default('kubernetes'),
  });

  const vaultSchema = z.strictObject({
    address: httpUrl('vault.address'),
    auth: z.discriminatedUnion('method', [tokenAuth, appRoleAuth, kubernetesAuth], {
      error: 'must be one of: token, approle, kubernetes',
    }),
    kvMount: z.string().min(1).default('secret'),
    /** Normally detected from the mount; set only when the token may not read sys/internal/ui/mounts. */
    kvVersion: z.union([z.literal(1), z.literal(2)]).optional(),
    namespace: z.string().min(1).optional(),
    /** Applied to every Vault call: node-vault has no default timeout. */
    timeoutMs: duration('vault.timeoutMs', 5000),
    /** Renew the Vault token once this fraction of its TTL has passed. */
    renewFraction: z
      .number()
      .gt(0)
      .lt(1)
      .default(2 / 3),
    /** PEM file with the CA that signed Vault's certificate. */
    caFile: caBundleFile.optional(),
  });

  const allowedHost = z.string().superRefine((value, ctx) => {
    const match = HOST_ENTRY.exec(value);
    if (match === null || (match[1] !== undefined && Number(match[1]) > 65535)) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a host name or address with an optional port, like "proxy.internal" or "proxy.internal:8080", got "${value}"`,
      });
    }
  });

  /** The listener's certificate and key, PEM files; both or neither. */
  const listenTls = z.strictObject(
    {
      certFile: z.string({ error: 'listen.tls.certFile must be the path of a PEM certificate (chain) file' }).min(1, 'must not be empty'),
      keyFile: z.string({ error: 'listen.tls.keyFile must be the path of the PEM private key file of certFile' }).min(1, 'must not be empty'),
    },
    { error: 'listen.tls must be a mapping { certFile, keyFile }' },
  );

  /** A header name injection may set (not one the proxy or HTTP framing owns). */
  const injectableHeaderName = () =>
    z
      .string()
      .regex(HEADER_NAME, 'must be a valid HTTP header name')
      .refine((n) => !RESERVED_HEADER_NAMES.has(n.toLowerCase()) && !n.toLowerCase().startsWith('x-secure-proxy-'), {
        message: 'is reserved by the proxy or HTTP framing and cannot be injected',
      });

  const bearerInject = z.strictObject({ type: z.literal('bearer'), field: z.string().min(1).default('token') });
  const headerInject = z.strictObject({
    type: z.literal('header'),
    name: injectableHeaderName(),
    /** Value with `{{field}}` placeholders, e.g. "Token {{token}}". Defaults to "{{token}}". */
    template: z
      .string()
      .min(1)
      .default('{{token}}')
      .refine((t) => /\{\{\s*[A-Za-z0-9_.-]+\s*\}\}/.test(t), { message: 'must reference at least one secret field like {{token}}' }),
  });
  const basicInject = z.strictObject({
    type: z.literal('basic'),
    usernameField: z.string().min(1).default('username'),
    passwordField: z.string().min(1).default('password'),
  });
  const queryInject = z.strictObject({
    type: z.literal('query'),
    param: z.string().min(1, 'must name the query parameter'),
    field: z.string().min(1).default('token'),
  });

  const signingInject = signingInjectSchemas({ httpUrl, injectableHeaderName });

  const injectSchema = z.discriminatedUnion(
    'type',
    [bearerInject, headerInject, basicInject, queryInject, signingInject.oauth2, signingInject.awsSigV4, signingInject.hmac],
    { error: 'must be one of: bearer, header, basic, query, oauth2, aws-sigv4, hmac' },
  );

  const serviceSchema = z
    .strictObject({
      target: httpUrl('target'),
      /** KV path under vault.kvMount. */
      secret: kvPath,
      inject: injectSchema,
      description: z.string().default(''),
      /** Allowed methods; all when absent. */
      methods: z
        .array(z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(', ')}` }))
        .min(1)
        .optional(),
      /** Allowed path globs relative to the service base ("/users/*", "/v2/**"); all when absent. */
      paths: z.array(z.string().startsWith('/', 'path patterns start with "/"')).min(1).optional(),
      /** Time allowed for the upstream to send response headers. */
      timeoutMs: duration('timeoutMs', 30000),
      /** Replace the injected secret values in the response status line, headers and bodies with [REDACTED]. */
      scrub: z.boolean().default(true),
      /**
       * Content types (`type/subtype` or `type/*`) whose bodies are relayed without scrubbing, e.g.
       * a large binary download; their headers are still scrubbed. Absent: every body is scrubbed.
       */
      scrubSkipContentTypes: z
        .array(
          z
            .string()
            .transform((value) => value.trim().toLowerCase())
            .refine((value) => MEDIA_RANGE.test(value), { message: 'must be a media type like "image/png" or a whole type like "image/*"' }),
        )
        .optional(),
      /** Largest request body forwarded, in bytes; absent means 10 MiB (DEFAULT_MAX_BODY_BYTES). */
      maxBodyBytes: z.number({ error: 'must be a number of bytes' }).int('must be a whole number of bytes').min(0, 'must be 0 (no body) or more').optional(),
      /**
       * Let a host-name target resolve to loopback, private, link-local and other internal
       * addresses (SSRF guard). Absent means false. IP-literal targets are never checked.
       */
      allowPrivateAddresses: z.boolean({ error: 'must be true or false' }).optional(),
      /** PEM CA bundle the https upstream's certificate must chain to, instead of the public roots. */
      caFile: caBundleFile.optional(),
      /** Requests per second (token bucket) and in flight, per proxy replica; over them: SERVICE_RATE_LIMITED. */
      limits: serviceLimitsSchema.optional(),
    })
    .superRefine((service, ctx) => {
      if (service.caFile !== undefined && URL.canParse(service.target) && new URL(service.target).protocol !== 'https:') {
        ctx.addIssue({ code: 'custom', path: ['caFile'], message: 'only applies to an https:// target' });
      }
    });

  const tokenHashEntry = z.union([
    z.string().regex(SHA256_REF, TOKEN_HASH_MESSAGE),
    z.strictObject({
      hash: z.string().regex(SHA256_REF, TOKEN_HASH_MESSAGE),
      /** ISO 8601 time after which the token is refused with PROXY_TOKEN_EXPIRED. */
      expiresAt: isoDateTime.optional(),
      /** The `<id>` part of an `spt_<id>_<secret>` token, to show in whoami and logs. */
      id: z.string().regex(TOKEN_ID).optional(),
    }),
  ]);

  const clientSchema = z.strictObject({
    tokenHashes: z.array(tokenHashEntry).min(1, 'a client needs at least one token hash'),
    services: z.array(z.string()).default([]),
    /** Services this client may use only from the listed n8n workflow ids; others get WORKFLOW_NOT_ALLOWED. */
    workflows: workflowRulesSchema.optional(),
  });

  /** Where proxy token records live in Vault, and how fresh the proxy keeps its copy. */
  const tokenStoreSchema = z.strictObject(
    {
      /** KV path under vault.kvMount; each client's record is the secret `<path>/<client>`. */
      path: kvPath.default(DEFAULT_TOKEN_RECORDS_PATH),
      /** How often every replica re-reads the records: a revoked token stops working within this. */
      refreshSeconds: z
        .number({ error: 'must be a number of seconds' })
        .int('must be a whole number of seconds')
        .min(1, 'must be at least 1 second')
        .max(86400, 'must be at most 86400 seconds (one day)')
        .default(10),
      /** An unknown token triggers a re-read at most this often, so a flood of bad tokens cannot flood Vault. */
      missRefreshIntervalMs: z
        .number({ error: 'must be a number of milliseconds' })
        .int('must be a whole number of milliseconds')
        .min(100, 'must be at least 100 ms')
        .max(3600000, 'must be at most 3600000 ms (one hour)')
        .default(1000),
    },
    { error: `tokenStore must be a mapping like { path: ${DEFAULT_TOKEN_RECORDS_PATH}, refreshSeconds: 10 }` },
  );

  return z
    .strictObject({
      listen: z
        .strictObject({
          host: z.string().min(1).default('127.0.0.1'),
          port: z.number().int().min(0).max(65535).default(8080),
          /** How long SIGTERM waits for in-flight requests before closing connections. */
          shutdownTimeoutMs: duration('listen.shutdownTimeoutMs', 30000),
          /** External base URL of the proxy, used when rewriting upstream Location headers. */
          publicUrl: httpUrl('listen.publicUrl').optional(),
          /** Serve HTTPS with this PEM pair; both files are re-read when they change (certificate renewal). */
          tls: listenTls.optional(),
          /** Time a client has to send the whole request header section (slow-header clients get 408). */
          headersTimeoutMs: duration('listen.headersTimeoutMs', DEFAULT_HEADERS_TIMEOUT_MS),
          /** Largest request header section accepted (Node's maxHeaderSize); larger ones get 431. */
          maxHeaderBytes: z
            .number({ error: 'listen.maxHeaderBytes must be a number of bytes' })
            .int('must be a whole number of bytes')
            .min(1024, 'must be at least 1024 bytes')
            .max(1048576, 'must be at most 1048576 bytes (1 MiB)')
            .default(DEFAULT_MAX_HEADER_BYTES),
          /** Longest wait for the next chunk of a request body (an idle timeout; flowing uploads never hit it). */
          bodyTimeoutMs: duration('listen.bodyTimeoutMs', DEFAULT_BODY_TIMEOUT_MS),
          /** Host header values the proxy answers for (name, or name:port); absent: any. */
          allowedHosts: z.array(allowedHost).min(1, 'must list at least one host name, or be left out to accept any Host').optional(),
          /** Client connections open at once; a connection beyond it is closed as it arrives (and counted). */
          maxConnections: z
            .number({ error: 'listen.maxConnections must be a number of connections' })
            .int('must be a whole number of connections')
            .min(1, 'must be at least 1')
            .max(1_000_000, 'must be at most 1000000')
            .default(DEFAULT_MAX_CONNECTIONS),
          /** How long an idle keep-alive client connection stays open between requests. */
          keepAliveTimeoutMs: duration('listen.keepAliveTimeoutMs', DEFAULT_KEEP_ALIVE_TIMEOUT_MS),
        })
        .prefault({}),
      /**
       * A second listener for operations: `/metrics` and `/readyz` with its reason (and
       * `/healthz`). When set, the main listener no longer serves `/metrics`.
       */
      ops: z
        .strictObject(
          {
            host: z.string().min(1).default('127.0.0.1'),
            port: z.number({ error: 'ops.port must be a port number' }).int().min(0).max(65535),
          },
          { error: 'ops must be a mapping { host, port }' },
        )
        .optional(),
      vault: vaultSchema,
      cache: z
        .strictObject({
          /** How long a secret read from Vault is used before it is read again. */
          ttlSeconds: duration('cache.ttlSeconds', 60),
          /** How long past its TTL a secret may keep serving while Vault is failing; then fail closed. */
          maxStaleSeconds: z.number().int().min(0).default(600),
        })
        .prefault({}),
      logging: z.strictObject({ level: z.enum(LOG_LEVELS).default('info') }).prefault({}),
      /** Per client address: after maxFailures bad proxy tokens within windowSeconds, further bad ones get 429. */
      authThrottle: z
        .strictObject({
          maxFailures: z.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 (throttle off) or more').default(20),
          // A window longer than Node's timer limit (about 24.8 days) would fire its reset timer every millisecond.
          windowSeconds: z
            .number({ error: 'must be a number' })
            .int('must be a whole number of seconds')
            .min(1, 'must be at least 1 second')
            .max(86400, 'must be at most 86400 seconds (one day)')
            .default(60),
        })
        .prefault({}),
      /** Static clients; absent means none (token records can come from Vault, see tokenStore). */
      clients: z.record(z.string(), clientSchema).default({}),
      /** Proxy token records in Vault KV, one secret per client; absent: only the static clients. */
      tokenStore: tokenStoreSchema.optional(),
      /** Proxy tokens (static or from Vault) expiring within this many seconds are counted, logged and flagged in whoami; 0: no warnings. */
      tokenExpiryWarningSeconds: z
        .number({ error: 'must be a number of seconds' })
        .int('must be a whole number of seconds')
        .min(0, 'must be 0 (no warnings) or more')
        .max(31536000, 'must be at most 31536000 seconds (one year)')
        .default(DEFAULT_TOKEN_EXPIRY_WARNING_SECONDS),
      services: z.record(z.string(), serviceSchema),
    })
    .superRefine((config, ctx) => {
      // Names appear in URLs, metric labels and logs; checked here because zod's record-key
      // errors do not say what a good name looks like.
      for (const [kind, names] of [
        ['client', Object.keys(config.clients)],
        ['service', Object.keys(config.services)],
      ] as const) {
        for (const name of names) {
          if (!NAME.test(name)) {
            ctx.addIssue({
              code: 'custom',
              path: [`${kind}s`, name],
              message: `${kind} names use 1-64 letters, digits, ".", "_" and "-", starting with a letter or digit`,
            });
          }
        }
      }
      const serviceNames = new Set(Object.keys(config.services));
      const seenHashes = new Map<string, string>();
      for (const [clientName, client] of Object.entries(config.clients)) {
        client.services.forEach((service, i) => {
          if (!serviceNames.has(service)) {
            ctx.addIssue({
              code: 'custom',
              path: ['clients', clientName, 'services', i],
              message: `unknown service "${service}"${didYouMean(service, serviceNames)}`,
            });
          }
        });
        for (const problem of workflowRuleProblems(client.workflows, client.services)) {
          ctx.addIssue({ code: 'custom', path: ['clients', clientName, 'workflows', problem.service], message: problem.message });
        }
        client.tokenHashes.forEach((entry, i) => {
          const hash = typeof entry === 'string' ? entry : entry.hash;
          const owner = seenHashes.get(hash);
          if (owner !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: ['clients', clientName, 'tokenHashes', i],
              message: `duplicate token hash, already used by client "${owner}"`,
            });
          }
          seenHashes.set(hash, clientName);
        });
      }
    });
}

/** The zod schema of the whole config file. */
export type ConfigSchema = ReturnType<typeof defineConfigSchema>;

let builtSchema: WeakRef<ConfigSchema> | undefined;

/**
 * The config schema, built on first use and held only weakly. It is needed to load a config
 * (at start, at a reload, by `check`) and then not until the next load; as a module constant
 * its objects (the schemas and what zod compiles at the first parse: about 5,600 objects and
 * 28,000 references in a serving proxy, 3% of its heap) stayed reachable for the life of the
 * process, and every full garbage collection marks what is reachable: a proxy streaming large
 * bodies runs one every few dozen megabytes. Calls close together (the checks of one load, a
 * test suite) share one instance; once the garbage collector has dropped it, the next load
 * builds it again (about 7 ms).
 */
export function configSchema(): ConfigSchema {
  const live = builtSchema?.deref();
  if (live !== undefined) return live;
  const schema = defineConfigSchema();
  builtSchema = new WeakRef(schema);
  return schema;
}

/** Validated configuration, defaults filled in. */
export type ProxyConfig = z.infer<ConfigSchema>;
export type ServiceConfig = ProxyConfig['services'][string];
export type InjectConfig = ServiceConfig['inject'];
export type VaultConfig = ProxyConfig['vault'];
export type ClientConfig = ProxyConfig['clients'][string];
export type TokenStoreConfig = NonNullable<ProxyConfig['tokenStore']>;
/**
 * Shapes other validators share (Vault token records): client and service names, `sha256:<hex>`
 * token hashes and what to say when one is wrong, token ids, and zoned ISO 8601 date-times.
 */
export { NAME as NAME_SHAPE, SHA256_REF as TOKEN_HASH_SHAPE, TOKEN_HASH_MESSAGE, TOKEN_ID as TOKEN_ID_SHAPE, isoDateTime };
/** What the file may contain before defaults are applied. */
export type ProxyConfigInput = z.input<ConfigSchema>;
export { HTTP_METHODS };
