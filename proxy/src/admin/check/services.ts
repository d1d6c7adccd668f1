/**
 * The service side of `secure-proxy check`: reads every service's secret with the proxy's
 * own KV reader and runs the service's compiled injector on it, so a secret is judged by
 * exactly the code that would use it on a request. Reports codes and the reader's and
 * injector's messages, which name paths and fields, never values.
 */
import type { ProxyConfig } from '../../config/schema';
import { ConfigError } from '../../config/errors';
import { toProxyError } from '../../contract/proxy-error';
import { compileInjector, type Injector } from '../../forward/inject';
import { injectorContext } from '../../forward/route';
import type { SecretData, SecretReader, SecretWriter } from '../../secrets/types';
import type { CheckProblem, ServiceReport } from './report';

/** A service ready to be checked: its name, secret path, label and compiled injector. */
export interface CompiledService {
  name: string;
  secretPath: string;
  /** `<kvMount>/<secret>`, as the proxy names the secret in its errors. */
  label: string;
  injector: Injector;
}

/**
 * Compiles every service's injector, as the proxy does at start. A config the proxy could not
 * start with (e.g. a header template with characters a header cannot hold) is a ConfigError.
 * `writer` lets an oauth2 refresh token grant store its rotated refresh token, as the proxy does.
 */
export function compileServices(config: ProxyConfig, source = 'config', writer?: SecretWriter): CompiledService[] {
  const issues: string[] = [];
  const compiled: CompiledService[] = [];
  for (const [name, service] of Object.entries(config.services)) {
    const label = `${config.vault.kvMount}/${service.secret}`;
    try {
      const context = injectorContext(name, service, { secretWriter: writer });
      compiled.push({ name, secretPath: service.secret, label, injector: compileInjector(service.inject, label, context) });
    } catch (err) {
      issues.push(`services.${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (issues.length > 0) throw new ConfigError(source, issues);
  return compiled;
}

/** Checks every service; a secret shared by several services is read once. */
export async function checkServices(services: readonly CompiledService[], reader: SecretReader): Promise<ServiceReport[]> {
  const reads = new Map<string, Promise<SecretData>>();
  const readOnce = (path: string): Promise<SecretData> => {
    let read = reads.get(path);
    if (read === undefined) {
      read = reader.read(path);
      reads.set(path, read);
    }
    return read;
  };
  const reports: ServiceReport[] = [];
  for (const service of services) {
    try {
      const secret = await readOnce(service.secretPath);
      // oauth2 mints a token here (the token endpoint is checked too); a signer signs a probe.
      const applied = service.injector.apply(secret);
      if (applied instanceof Promise) await applied;
      await service.injector.signer?.sign({ method: 'GET', pathAndQuery: '', headers: {} }, Buffer.alloc(0), secret);
      reports.push(serviceReport(service, null));
    } catch (err) {
      const error = toProxyError(err);
      reports.push(serviceReport(service, { code: error.code, message: error.message }));
    }
  }
  return reports;
}

/** The report line of a service that was checked (problem null: ok) or could not be. */
export function serviceReport(service: CompiledService, problem: CheckProblem | null): ServiceReport {
  return {
    name: service.name,
    secret: service.label,
    inject: service.injector.description,
    ok: problem === null,
    code: problem?.code ?? null,
    message: problem?.message ?? null,
  };
}
