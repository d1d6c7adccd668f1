/**
 * The Service dropdown: the services the credential's proxy client may use, from the proxy's
 * `GET /v1/services` (names, descriptions and allowed methods; never a secret or an upstream URL).
 */
import type { ILoadOptionsFunctions, INodePropertyOptions } from 'n8n-workflow';
import { errorForResponse, parameterError } from '../errors';
import { readProxyTarget } from '../proxy-target';
import { SERVICES_PATH, type ServiceSummary } from '../shared/contract';
import { parseJsonBody } from '../shared/response';
import { sendToProxy } from '../transport';

/** The dropdown waits this long for the proxy. */
const LIST_TIMEOUT = 15_000;

function isServiceSummary(value: unknown): value is ServiceSummary {
  return typeof value === 'object' && value !== null && typeof (value as ServiceSummary).name === 'string';
}

/** One dropdown entry per service. */
export function serviceOptions(services: ServiceSummary[]): INodePropertyOptions[] {
  return services.map((service) => {
    const methods = Array.isArray(service.methods) && service.methods.length > 0 ? ` Methods: ${service.methods.join(', ')}.` : '';
    const paths =
      Array.isArray(service.paths) && service.paths.length > 0 && !(service.paths.length === 1 && service.paths[0] === '/**')
        ? ` Paths: ${service.paths.join(', ')}.`
        : '';
    const description = typeof service.description === 'string' && service.description.trim() !== '' ? service.description.trim() : 'No description.';
    return { name: service.name, value: service.name, description: `${description}${methods}${paths}` };
  });
}

/** `methods.loadOptions.getServices`. */
export async function getServices(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
  const target = await readProxyTarget.call(this);
  const response = await sendToProxy.call(this, target, { method: 'GET', path: SERVICES_PATH, headers: { accept: 'application/json' }, timeout: LIST_TIMEOUT });
  const error = errorForResponse(this.getNode(), response, { target });
  if (error !== null) throw error;
  const body = parseJsonBody(response.body) as { services?: unknown } | undefined;
  if (!Array.isArray(body?.services)) {
    throw parameterError(this.getNode(), `The server at ${target.baseUrl} did not answer ${SERVICES_PATH} like the secure proxy`, {
      description: 'Check that the Proxy URL in the "Secure Proxy API" credential points at the secure proxy.',
    });
  }
  return serviceOptions(body.services.filter(isServiceSummary));
}
