/**
 * ACL policies: parsing (JSON, plus the simple HCL `path "x" { capabilities = [...] }`
 * form), the policy store with Vault's built-in `root` and `default`, and capability
 * checks with Vault's matching rules (exact path, trailing `*` glob, `+` segment wildcard,
 * most specific rule wins, `deny` beats everything).
 */
import { VaultError, badRequest, multiError } from './http';
import type { Operation } from './logical';

/** The capabilities a policy rule can grant. */
export type Capability = 'create' | 'read' | 'update' | 'delete' | 'list' | 'patch' | 'sudo' | 'deny';

const CAPABILITIES: ReadonlySet<string> = new Set(['create', 'read', 'update', 'delete', 'list', 'patch', 'sudo', 'deny']);

/** One `path` block of a policy. */
export interface PolicyRule {
  readonly pattern: string;
  readonly capabilities: readonly Capability[];
}

/** A stored policy: its name, the text it was written with, and its parsed rules. */
export interface Policy {
  readonly name: string;
  readonly raw: string;
  readonly rules: readonly PolicyRule[];
}

/** Vault's built-in default policy, reduced to the paths a client of this emulator can reach. */
const DEFAULT_POLICY_TEXT = JSON.stringify(
  {
    path: {
      'auth/token/lookup-self': { capabilities: ['read'] },
      'auth/token/renew-self': { capabilities: ['update'] },
      'auth/token/revoke-self': { capabilities: ['update'] },
      'sys/capabilities-self': { capabilities: ['update'] },
      'sys/internal/ui/resultant-acl': { capabilities: ['read'] },
      'sys/renew': { capabilities: ['update'] },
      'sys/leases/renew': { capabilities: ['update'] },
      'sys/leases/lookup': { capabilities: ['update'] },
      'cubbyhole/*': { capabilities: ['create', 'read', 'update', 'delete', 'list'] },
      cubbyhole: { capabilities: ['read', 'list'] },
      'sys/wrapping/wrap': { capabilities: ['update'] },
      'sys/wrapping/lookup': { capabilities: ['update'] },
      'sys/wrapping/unwrap': { capabilities: ['update'] },
      'sys/tools/hash': { capabilities: ['update'] },
      'sys/tools/hash/*': { capabilities: ['update'] },
    },
  },
  null,
  2,
);

/**
 * Parses policy text. JSON is the supported form (Vault accepts JSON policies); the plain
 * HCL `path "..." { capabilities = [...] }` blocks are understood too because they are
 * what most examples use. Anything else is a 400 like Vault's "failed to parse policy".
 */
export function parsePolicy(name: string, text: string): Policy {
  const trimmed = text.trim();
  const rules = trimmed.startsWith('{') ? parseJsonPolicy(trimmed) : parseHclPolicy(trimmed);
  for (const rule of rules) {
    for (const cap of rule.capabilities) {
      if (!CAPABILITIES.has(cap)) throw badRequest(`failed to parse policy: path "${rule.pattern}": invalid capability "${cap}"`);
    }
  }
  return { name, raw: text, rules };
}

function parseJsonPolicy(text: string): PolicyRule[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw badRequest(`failed to parse policy: ${err instanceof Error ? err.message : String(err)}`);
  }
  const paths = (doc as { path?: unknown } | null)?.path;
  if (paths === undefined) return [];
  // HCL-as-JSON also allows a list of single-key objects; accept both shapes.
  const entries: Array<[string, unknown]> = Array.isArray(paths)
    ? paths.flatMap((item) => Object.entries(item as Record<string, unknown>))
    : Object.entries(paths as Record<string, unknown>);
  return entries.map(([pattern, body]) => {
    const block: unknown = Array.isArray(body) ? body[0] : body;
    const caps = (block as { capabilities?: unknown } | null)?.capabilities;
    if (!Array.isArray(caps)) throw badRequest(`failed to parse policy: path "${pattern}": capabilities must be a list`);
    return { pattern, capabilities: caps.map((c) => String(c).toLowerCase() as Capability) };
  });
}

function parseHclPolicy(text: string): PolicyRule[] {
  const rules: PolicyRule[] = [];
  const block = /path\s+"([^"]*)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\}/g;
  let consumed = text.replace(/#[^\n]*/g, '');
  for (const match of consumed.matchAll(block)) {
    const caps = [...match[2].matchAll(/"([^"]*)"/g)].map((c) => c[1].toLowerCase() as Capability);
    rules.push({ pattern: match[1], capabilities: caps });
  }
  consumed = consumed.replace(block, '').trim();
  if (consumed !== '') throw badRequest(`failed to parse policy: unsupported policy syntax near ${JSON.stringify(consumed.slice(0, 40))}`);
  return rules;
}

/** Named policies, with `root` (implicit) and `default` built in like a fresh Vault. */
export class PolicyStore {
  private readonly policies = new Map<string, Policy>();

  constructor() {
    this.policies.set('default', parsePolicy('default', DEFAULT_POLICY_TEXT));
  }

  /** Policy names, sorted, including root as Vault lists it for sys/policy. */
  names(): string[] {
    return [...this.policies.keys(), 'root'].sort();
  }

  get(name: string): Policy | undefined {
    return this.policies.get(name.toLowerCase());
  }

  /** Creates or replaces a policy; `root` cannot be written. */
  put(name: string, text: string): void {
    const lower = name.toLowerCase();
    if (lower === 'root') throw badRequest('cannot update "root" policy');
    this.policies.set(lower, parsePolicy(lower, text));
  }

  /** Deletes a policy; `root` and `default` cannot be deleted. */
  delete(name: string): void {
    const lower = name.toLowerCase();
    if (lower === 'root' || lower === 'default') throw badRequest(`cannot delete "${lower}" policy`);
    this.policies.delete(lower);
  }

  /** The ACL for a set of policy names (unknown names are ignored, as in Vault). */
  acl(names: readonly string[]): Acl {
    if (names.includes('root')) return Acl.root();
    return new Acl(names.map((n) => this.policies.get(n)).filter((p): p is Policy => p !== undefined));
  }
}

interface CompiledRule {
  readonly pattern: string;
  readonly caps: ReadonlySet<Capability>;
  readonly regex: RegExp | null;
}

/** A token's effective permissions. */
export class Acl {
  private readonly exact = new Map<string, CompiledRule>();
  private readonly wildcard: CompiledRule[] = [];
  private readonly isRoot: boolean;

  /** The ACL of the root policy: everything allowed. */
  static root(): Acl {
    return new Acl([], true);
  }

  constructor(policies: readonly Policy[], isRoot = false) {
    this.isRoot = isRoot;
    // Rules for the same path string from several policies merge; deny overrides the rest.
    const merged = new Map<string, Set<Capability>>();
    for (const policy of policies) {
      for (const rule of policy.rules) {
        const set = merged.get(rule.pattern) ?? new Set<Capability>();
        for (const cap of rule.capabilities) set.add(cap);
        merged.set(rule.pattern, set);
      }
    }
    for (const [pattern, set] of merged) {
      const caps: ReadonlySet<Capability> = set.has('deny') ? new Set<Capability>(['deny']) : set;
      const wild = pattern.endsWith('*') || pattern.split('/').includes('+');
      if (wild) this.wildcard.push({ pattern, caps, regex: patternRegex(pattern) });
      else this.exact.set(pattern, { pattern, caps, regex: null });
    }
  }

  /** The capabilities granted on a path (['root'] for root tokens). */
  capabilities(path: string): string[] {
    if (this.isRoot) return ['root'];
    const rule = this.matchingRule(path);
    if (!rule || rule.caps.size === 0) return ['deny'];
    return [...rule.caps].sort();
  }

  /** Whether the operation is allowed on the path; `sudo` additionally needs the sudo capability. */
  allows(path: string, operation: Operation, sudo: boolean): boolean {
    if (this.isRoot) return true;
    // Like Vault, a list on `foo/` is also granted by an exact rule for `foo`.
    const listExact = operation === 'list' ? this.exact.get(path.replace(/\/$/, '')) : undefined;
    const rule = this.exact.get(path) ?? listExact ?? this.matchingRule(path);
    if (!rule || rule.caps.has('deny')) return false;
    if (sudo && !rule.caps.has('sudo')) return false;
    return rule.caps.has(operation);
  }

  /**
   * Whether any rule grants something at or below a mount path: Vault's hasMountAccess,
   * which sys/internal/ui/mounts uses to hide mounts a token cannot touch at all.
   */
  hasAnyAccessUnder(mountPath: string): boolean {
    if (this.isRoot) return true;
    const rules = [...this.exact.values(), ...this.wildcard];
    return rules.some((rule) => {
      if (rule.caps.has('deny') || rule.caps.size === 0) return false;
      const literal = rule.pattern.split('+')[0].replace(/\*$/, '');
      if (literal.startsWith(mountPath)) return true;
      return rule.regex !== null && mountPath.startsWith(literal);
    });
  }

  private matchingRule(path: string): CompiledRule | undefined {
    const exact = this.exact.get(path);
    if (exact) return exact;
    let best: CompiledRule | undefined;
    for (const rule of this.wildcard) {
      if (!rule.regex?.test(path)) continue;
      if (!best || lowerPriority(best.pattern, rule.pattern)) best = rule;
    }
    return best;
  }
}

function patternRegex(pattern: string): RegExp {
  const glob = pattern.endsWith('*');
  const body = glob ? pattern.slice(0, -1) : pattern;
  const source = body
    .split('/')
    .map((segment) => (segment === '+' ? '[^/]*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}${glob ? '.*' : ''}$`, 's');
}

/**
 * Vault's documented priority between two matching patterns: true when `p1` loses to
 * `p2` (wildcard earlier, ends in `*` when the other does not, more `+` segments,
 * shorter, then lexically smaller).
 */
function lowerPriority(p1: string, p2: string): boolean {
  const first = (p: string): number => {
    const i = p.search(/[+*]/);
    return i < 0 ? p.length : i;
  };
  if (first(p1) !== first(p2)) return first(p1) < first(p2);
  const g1 = p1.endsWith('*');
  const g2 = p2.endsWith('*');
  if (g1 !== g2) return g1;
  const plus = (p: string): number => p.split('/').filter((s) => s === '+').length;
  if (plus(p1) !== plus(p2)) return plus(p1) > plus(p2);
  if (p1.length !== p2.length) return p1.length < p2.length;
  return p1 < p2;
}

/** 403 for a valid token without the capability (Vault core wraps it in a multierror). */
export function permissionDenied(): VaultError {
  return new VaultError(403, [multiError('permission denied')]);
}
