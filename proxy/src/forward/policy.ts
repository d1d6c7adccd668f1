/**
 * A service's allowlist: which methods and which paths (globs relative to the service base)
 * a client may use. Compiled once at startup; a check is a Set lookup and one precompiled
 * regular expression.
 */
import picomatch from 'picomatch';
import type { ServiceConfig } from '../config/schema';
import { ProxyError } from '../contract/proxy-error';

const MAX_EXCERPT = 64;

export interface ServicePolicy {
  /** Allowed methods (upper case), or null for all. */
  readonly methods: readonly string[] | null;
  /** Allowed path globs, or null for all. */
  readonly paths: readonly string[] | null;
  /**
   * METHOD_NOT_ALLOWED or PATH_NOT_ALLOWED for a refused request, else null. `path` is the raw
   * path below the service base, without query (`''` is the base itself). Run it only on
   * paths that passed the path-safety check: that is what makes matching decoded text sound
   * (no encoded slash or dot segment can appear by decoding).
   */
  check(method: string, path: string): ProxyError | null;
}

/** Percent-decodes a path for matching ('/files/my%20doc' matches '/files/*'); malformed escapes stay as sent. */
function decodeForMatch(path: string): string {
  if (path.indexOf('%') === -1) return path;
  try {
    return decodeURIComponent(path);
  } catch (err) {
    if (err instanceof URIError) return path;
    throw err;
  }
}

function excerpt(text: string): string {
  return text.length > MAX_EXCERPT ? `${text.slice(0, MAX_EXCERPT)}…` : text;
}

/** Compiles a service's `methods` and `paths` into a policy. */
export function compilePolicy(service: string, config: Pick<ServiceConfig, 'methods' | 'paths'>): ServicePolicy {
  const methods = config.methods ? [...new Set(config.methods.map((m) => m.toUpperCase()))] : null;
  const methodSet = methods ? new Set(methods) : null;
  const allow = methods ? methods.join(', ') : '';
  const paths = config.paths ? [...config.paths] : null;
  // dot: a '*' also matches names starting with '.', e.g. '/.well-known'; '.'/'..' segments never get here.
  const matchPath = paths ? picomatch(paths, { dot: true }) : null;
  const pathList = paths ? paths.join(', ') : '';

  return {
    methods,
    paths,
    check(method, path) {
      if (methodSet !== null && !methodSet.has(method)) {
        return new ProxyError('METHOD_NOT_ALLOWED', `Service '${service}' allows only ${allow}; got ${excerpt(method)}.`, {
          headers: { allow },
        });
      }
      if (matchPath !== null) {
        const target = path === '' ? '/' : decodeForMatch(path);
        if (!matchPath(target)) {
          return new ProxyError('PATH_NOT_ALLOWED', `Service '${service}' does not allow path '${excerpt(target)}'; allowed: ${pathList}.`);
        }
      }
      return null;
    },
  };
}
