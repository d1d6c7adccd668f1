/**
 * The bootstrap's access to Vault's HTTP API: node-vault over the proxy's own transport (a
 * deadline on every call, no redirects followed, errors that never carry the token), with the
 * admin's token. A failed call becomes a BootstrapFailure that names the call and, for a
 * permission problem, the capability the token lacks on which path.
 */
import NodeVault from 'node-vault';
import { classifyVaultError } from '../../vault/errors';
import { createVaultTransport } from '../../vault/transport';

/** One call to Vault's API, as printed by --dry-run and named in errors. */
export interface VaultCall {
  method: 'GET' | 'POST' | 'PUT';
  /** API path without `/v1/`. */
  path: string;
  body?: Record<string, unknown>;
  /** The policy capability the call needs on `path`, for the permission-denied message. */
  needs: string;
}

/** Vault refused or failed a call: exit 1. */
export class BootstrapFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapFailure';
  }
}

export interface AdminApiOptions {
  address: string;
  /** The admin's Vault token (VAULT_TOKEN). */
  token: string;
  namespace?: string;
  caFile?: string;
  timeoutMs: number;
}

/** What the bootstrap does with Vault. */
export interface AdminApi {
  readonly address: string;
  /** GET; resolves with the body, or null when Vault answers 404. */
  read(path: string, needs?: string): Promise<Record<string, unknown> | null>;
  /** Makes a write call. */
  write(call: VaultCall): Promise<void>;
  close(): void;
}

export function openAdminApi(options: AdminApiOptions): AdminApi {
  const transport = createVaultTransport({ timeoutMs: options.timeoutMs, caFile: options.caFile });
  const client = NodeVault({
    endpoint: options.address,
    token: options.token,
    // Given explicitly: node-vault would otherwise read VAULT_NAMESPACE itself, even when empty.
    namespace: options.namespace,
    'request-promise': transport.requestPromise,
    noCustomHTTPVerbs: true,
    debug: () => undefined,
  });
  const send = async (call: VaultCall): Promise<unknown> => {
    try {
      return (await client.request({ path: `/${call.path}`, method: call.method, json: call.body })) as unknown;
    } catch (err) {
      const failure = classifyVaultError(err);
      if (call.method === 'GET' && failure.kind === 'not_found') return null;
      throw new BootstrapFailure(`${call.method} ${options.address}/v1/${call.path} failed: ${explain(failure, call, vaultMessage(err))}`);
    }
  };
  return {
    address: options.address,
    async read(path, needs = 'read') {
      const body = await send({ method: 'GET', path, needs });
      return body === null || typeof body !== 'object' ? null : (body as Record<string, unknown>);
    },
    async write(call) {
      await send(call);
    },
    close: () => transport.close(),
  };
}

function explain(failure: ReturnType<typeof classifyVaultError>, call: VaultCall, message: string | null): string {
  switch (failure.kind) {
    case 'forbidden':
      return (
        `Vault said permission denied (${failure.status}): the token in VAULT_TOKEN needs "${call.needs}" on "${call.path}" ` +
        '(or it is expired or revoked: `vault token lookup` tells)'
      );
    case 'unavailable':
      return failure.reason;
    case 'bad_request':
      return `Vault refused the request (400)${message === null ? '' : `: ${message}`}`;
    case 'not_found':
      return `Vault answered 404${message === null ? '' : `: ${message}`} (is the auth method or mount there?)`;
    case 'error':
      return `${failure.reason}${message === null ? '' : `: ${message}`}`;
  }
}

/** Vault's own first error text, e.g. "path is already in use at secret/"; Vault never echoes the token in it. */
function vaultMessage(err: unknown): string | null {
  const body = (err as { response?: { body?: { errors?: unknown } } }).response?.body;
  const first = Array.isArray(body?.errors) ? (body.errors as unknown[])[0] : undefined;
  return typeof first === 'string' && first !== '' ? first.replace(/\s+/g, ' ').trim() : null;
}
