/**
 * The injection registry: `inject.type` → strategy, and the one entry point that compiles a
 * service's inject config at startup. Each strategy file holds one type and its `redact()`.
 */
import type { InjectConfig } from '../../config/schema';
import type { SecretData } from '../../secrets/types';
import { basic } from './basic';
import { bearer } from './bearer';
import { header } from './header';
import { compileHmac, redactHmac } from './hmac';
import { compileOAuth2, OAUTH2_HEADERS, redactOAuth2, type OAuth2Context } from './oauth2';
import { query } from './query';
import { compileSigV4, redactSigV4, SIGV4_HEADERS } from './sigv4';
import type { Injection, InjectionType, Injector } from './types';

export type { Injection, Injector, InjectionType, RequestSigner } from './types';
export type { OAuth2Context } from './oauth2';
export { replaceQueryParam } from './query';
export { TokenBroker, type TokenEvent, type TokenListener } from './oauth2';

/** Types whose credential is made per request or per token lifetime; the others copy Vault values. */
type SigningConfig = Extract<InjectConfig, { type: 'oauth2' | 'aws-sigv4' | 'hmac' }>;
type StaticConfig = Exclude<InjectConfig, SigningConfig>;

/** What compiling a signing injector needs besides its config. */
export interface InjectorContext extends OAuth2Context {
  /** The service target: its host and base path are part of a signature. */
  target: URL;
}

/** Every static strategy, keyed by its `type`; adding a type to the config schema without one here (or below) fails to compile. */
export const INJECTION_TYPES: { readonly [T in StaticConfig['type']]: InjectionType<Extract<InjectConfig, { type: T }>> } = {
  bearer,
  header,
  basic,
  query,
};

/** The strategy for a config; each strategy only ever receives configs of its own type. */
function strategyOf(inject: StaticConfig): InjectionType<StaticConfig> {
  return INJECTION_TYPES[inject.type];
}

function isSigning(inject: InjectConfig): inject is SigningConfig {
  return inject.type === 'oauth2' || inject.type === 'aws-sigv4' || inject.type === 'hmac';
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
    case 'oauth2':
      return [...OAUTH2_HEADERS];
    case 'aws-sigv4':
      return [...SIGV4_HEADERS];
    case 'hmac':
      return [inject.header.toLowerCase(), inject.timestampHeader.toLowerCase()];
  }
}

/** Describes an inject config for logs and listings, without any value. */
export function redactInjection(inject: InjectConfig): string {
  switch (inject.type) {
    case 'oauth2':
      return redactOAuth2(inject);
    case 'aws-sigv4':
      return redactSigV4(inject);
    case 'hmac':
      return redactHmac(inject);
    default:
      return strategyOf(inject).redact(inject);
  }
}

/** Compiles a signing injector: each keeps its own per-secret memo, and a signer or a token cache. */
function compileSigning(inject: SigningConfig, secretPath: string, context: InjectorContext | undefined): Injector {
  if (context === undefined) throw new Error(`inject type '${inject.type}' needs the service's target to compile`);
  switch (inject.type) {
    case 'oauth2':
      return compileOAuth2(inject, secretPath, context);
    case 'aws-sigv4':
      return compileSigV4(inject, secretPath, context.target);
    case 'hmac':
      return compileHmac(inject, secretPath, context.target);
  }
}

/**
 * Compiles a service's inject config once. `apply` is memoized per secret object: the secret
 * cache hands out the same frozen object until the value changes, so headers, base64 and
 * percent-encoding are computed once per secret value, not per request. A secret that
 * cannot be injected is remembered too, and throws the same ProxyError again.
 *
 * `secretPath` only names the secret in error messages (e.g. "secret/team/github").
 */
export function compileInjector(inject: InjectConfig, secretPath = '(unnamed secret)', context?: InjectorContext): Injector {
  if (isSigning(inject)) return compileSigning(inject, secretPath, context);
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
