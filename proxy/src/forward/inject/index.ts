/**
 * The injection registry: `inject.type` → strategy, and the one entry point that compiles a
 * service's inject config at startup. Each strategy file holds one type and its `redact()`.
 */
import type { InjectConfig } from '../../config/schema';
import type { SecretData } from '../../secrets/types';
import { basic } from './basic';
import { bearer } from './bearer';
import { header } from './header';
import { query } from './query';
import type { Injection, InjectionType, Injector } from './types';

export type { Injection, Injector, InjectionType } from './types';
export { replaceQueryParam } from './query';

/** Every strategy, keyed by its `type`; adding a type to the config schema without one here fails to compile. */
export const INJECTION_TYPES: { readonly [T in InjectConfig['type']]: InjectionType<Extract<InjectConfig, { type: T }>> } = {
  bearer,
  header,
  basic,
  query,
};

/** The strategy for a config; each strategy only ever receives configs of its own type. */
function strategyOf(inject: InjectConfig): InjectionType<InjectConfig> {
  return INJECTION_TYPES[inject.type];
}

/** The header names (lower case) an inject config sets on every request; none for query injection. */
export function injectedHeaderNames(inject: InjectConfig): string[] {
  switch (inject.type) {
    case 'bearer':
    case 'basic':
      return ['authorization'];
    case 'header':
      return [inject.name.toLowerCase()];
    case 'query':
      return [];
  }
}

/** Describes an inject config for logs and listings, without any value. */
export function redactInjection(inject: InjectConfig): string {
  return strategyOf(inject).redact(inject);
}

/**
 * Compiles a service's inject config once. `apply` is memoized per secret object: the secret
 * cache hands out the same frozen object until the value changes, so headers, base64 and
 * percent-encoding are computed once per secret value, not per request. A secret that
 * cannot be injected is remembered too, and throws the same ProxyError again.
 *
 * `secretPath` only names the secret in error messages (e.g. "secret/team/github").
 */
export function compileInjector(inject: InjectConfig, secretPath = '(unnamed secret)'): Injector {
  const build = strategyOf(inject).compile(inject, secretPath);
  const cache = new WeakMap<SecretData, Injection | { error: unknown }>();
  return {
    type: inject.type,
    description: redactInjection(inject),
    apply(secret) {
      let entry = cache.get(secret);
      if (entry === undefined) {
        try {
          entry = build(secret);
        } catch (error) {
          entry = { error };
        }
        cache.set(secret, entry);
      }
      if ('error' in entry) throw entry.error;
      return entry;
    },
  };
}
