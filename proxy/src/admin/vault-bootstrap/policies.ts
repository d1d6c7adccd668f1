/**
 * The Vault policies the proxy's setup needs, kept as HCL files in the package's `policies/`
 * folder. docs/vault-admin.md prints the same text (a test compares them), and the bootstrap
 * writes them. The files name the guide's defaults (mount `secret`, KV v2, folders
 * `secure-proxy/services` and `secure-proxy/clients`); rendering moves their paths to the
 * mount, KV version and folders in use.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The folder holding the .hcl files, in a clone and in the installed package alike. */
export const POLICY_DIR = join(__dirname, '..', '..', '..', 'policies');

/** The policies, by file name (without `.hcl`), which is also the policy's name. */
export const POLICIES = {
  /** Read the service secrets; detect the KV version. */
  proxy: 'secure-proxy',
  /** With tokenStore: list and read the token records. */
  tokenRecords: 'secure-proxy-token-records',
  /** Only when the proxy's token lacks Vault's default policy. */
  tokenSelf: 'secure-proxy-token-self',
  /** For people or pipelines that manage token records; never attached to the proxy. */
  admin: 'secure-proxy-admin',
  /** Per service with an OAuth2 refresh_token grant (a sample path): not written by the bootstrap. */
  refreshTokenWriteback: 'secure-proxy-refresh-token-writeback',
} as const;

export type PolicyName = (typeof POLICIES)[keyof typeof POLICIES];

/** Where the policies point. */
export interface PolicyPlace {
  kvMount: string;
  kvVersion: 1 | 2;
  servicesPath: string;
  recordsPath: string;
}

/** The place the files are written for. */
export const FILE_PLACE: PolicyPlace = { kvMount: 'secret', kvVersion: 2, servicesPath: 'secure-proxy/services', recordsPath: 'secure-proxy/clients' };

/** The text of a policy file as shipped. */
export function readPolicyFile(name: PolicyName): string {
  return readFileSync(join(POLICY_DIR, `${name}.hcl`), 'utf8');
}

const PATH_LINE = /^(\s*path\s+")([^"]*)("\s*\{\s*)$/;

/**
 * The policy text for `place`: only the quoted paths of `path "…" {` lines change. A path on
 * the files' mount that is not a `data/` or `metadata/` path, or a folder the files do not
 * use, is an error: the files changed shape and this function must learn it.
 */
export function renderPolicy(text: string, place: PolicyPlace): string {
  const folder = (rest: string): string => {
    for (const [from, to] of [
      [FILE_PLACE.servicesPath, place.servicesPath],
      [FILE_PLACE.recordsPath, place.recordsPath],
    ]) {
      if (rest === from || rest.startsWith(`${from}/`)) return `${to}${rest.slice(from.length)}`;
    }
    throw new Error(`a policy path under an unexpected folder: "${rest}"`);
  };
  const movePath = (path: string): string => {
    if (path === `sys/internal/ui/mounts/${FILE_PLACE.kvMount}`) return `sys/internal/ui/mounts/${place.kvMount}`;
    if (!path.startsWith(`${FILE_PLACE.kvMount}/`)) return path;
    const kv = /^(data|metadata)\/(.+)$/.exec(path.slice(FILE_PLACE.kvMount.length + 1));
    if (kv === null) throw new Error(`a policy path on the KV mount without data/ or metadata/: "${path}"`);
    // KV v1 has neither segment: data and listing both live on the plain path.
    return place.kvVersion === 2 ? `${place.kvMount}/${kv[1]}/${folder(kv[2])}` : `${place.kvMount}/${folder(kv[2])}`;
  };
  return text
    .split('\n')
    .map((line) => {
      const match = PATH_LINE.exec(line);
      return match === null ? line : `${match[1]}${movePath(match[2])}${match[3]}`;
    })
    .join('\n');
}
