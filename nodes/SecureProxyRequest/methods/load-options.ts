/**
 * The Service list: the services the credential's proxy client may use, from the proxy's
 * `GET /v1/services` (names, descriptions, allowed methods and paths; never a secret or an
 * upstream URL). Version 1's dropdown calls getServices, version 2's resource locator
 * searchServices. A list that cannot be loaded says why in the words an execution would use
 * (list-errors.ts has how n8n's editor shows each kind of failure).
 */
import type { ILoadOptionsFunctions, INodeListSearchItems, INodeListSearchResult, INodePropertyOptions } from 'n8n-workflow';
import { errorForResponse, parameterError } from '../errors';
import { readProxyTarget } from '../proxy-target';
import { SERVICE_NAME_PATTERN } from '../request/path';
import { SERVICES_PATH, type ServiceSummary } from '../shared/contract';
import { parseJsonBody } from '../shared/response';
import { sendToProxy } from '../transport';
import { listFailure, optionsListError, searchListError, type ListFailure } from './list-errors';

/** The list waits this long for the proxy. */
const LIST_TIMEOUT = 15_000;

/** What the proxy reports for a service without a methods policy. */
const ALL_METHODS: ReadonlySet<string> = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']);

/** Value of the dropdown entry that carries a list failure; no service name can look like it. */
export const LIST_FAILURE_VALUE = ' list-unavailable';

function isServiceSummary(value: unknown): value is ServiceSummary {
  return typeof value === 'object' && value !== null && typeof (value as ServiceSummary).name === 'string';
}

/** Loads the services; every failure is a node error that says what happened and what to do. */
async function fetchServices(this: ILoadOptionsFunctions): Promise<ServiceSummary[]> {
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
  return body.services.filter(isServiceSummary);
}

/** A service's description and policy, each on its own; absent when there is nothing to say. */
export interface ServiceDetails {
  description?: string;
  /** The allowed methods, when the service restricts them ("GET, POST"). */
  methods?: string;
  /** The allowed paths, when the service restricts them ("/repos/**, /user"). */
  paths?: string;
}

/** Reads a service's description and, when it restricts them, its methods and paths. */
export function serviceDetails(service: ServiceSummary): ServiceDetails {
  const description = typeof service.description === 'string' ? service.description.trim() : '';
  const methods = Array.isArray(service.methods) ? service.methods.filter((method) => typeof method === 'string') : [];
  const restrictsMethods = methods.length > 0 && ![...ALL_METHODS].every((method) => methods.includes(method));
  const paths = Array.isArray(service.paths) ? service.paths.filter((path) => typeof path === 'string') : [];
  const restrictsPaths = paths.length > 0 && !(paths.length === 1 && paths[0] === '/**');
  return {
    ...(description === '' ? {} : { description }),
    ...(restrictsMethods ? { methods: methods.join(', ') } : {}),
    ...(restrictsPaths ? { paths: paths.join(', ') } : {}),
  };
}

function sentence(text: string): string {
  return /[.!?…]$/.test(text) ? text : `${text}.`;
}

/** The details as sentences: "GitHub REST API. Methods: GET, POST. Paths: /repos/**." */
export function detailsText(details: ServiceDetails): string {
  return [
    sentence(details.description ?? 'No description'),
    details.methods === undefined ? 'All methods.' : `Methods: ${details.methods}.`,
    ...(details.paths === undefined ? [] : [`Paths: ${details.paths}.`]),
  ].join(' ');
}

/** One dropdown entry per service (version 1): the name, with the details as its description. */
export function serviceOptions(services: ServiceSummary[]): INodePropertyOptions[] {
  return services.map((service) => ({ name: service.name, value: service.name, description: detailsText(serviceDetails(service)) }));
}

/**
 * One list entry per service (version 2). n8n's resource locator shows an entry's name only,
 * on one line, so the name carries the description and the allowed methods:
 * "github — GitHub REST API · GET, POST".
 */
export function serviceListItems(services: ServiceSummary[]): INodeListSearchItems[] {
  return services.map((service) => {
    const details = serviceDetails(service);
    const description = details.description?.replace(/\.$/, '');
    const label = [service.name + (description === undefined ? '' : ` — ${description}`), ...(details.methods === undefined ? [] : [details.methods])];
    return { name: label.join(' · '), value: service.name, description: detailsText(details) };
  });
}

/** The saved service of a version 1 node, when it is a plain name (not an expression). */
function savedServiceName(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const name = value.trim();
  return new RegExp(SERVICE_NAME_PATTERN).test(name) ? name : undefined;
}

/**
 * The dropdown while the list cannot be loaded but a service is saved: the failure as an entry
 * that cannot be picked, then the saved service, so the field keeps showing it (n8n replaces
 * the field's value with "Error fetching options" when the method throws).
 */
export function unavailableListOptions(saved: string, failure: ListFailure): INodePropertyOptions[] {
  return [
    { name: failure.message, value: LIST_FAILURE_VALUE, description: failure.description, disabled: true },
    { name: saved, value: saved, description: 'The saved service. The list of services could not be loaded; the entry above says why.' },
  ];
}

/** `methods.loadOptions.getServices` (version 1's dropdown). */
export async function getServices(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
  let services: ServiceSummary[];
  try {
    services = await fetchServices.call(this);
  } catch (error) {
    const failure = listFailure(error);
    const saved = savedServiceName(this.getCurrentNodeParameter('service'));
    if (saved !== undefined) return unavailableListOptions(saved, failure);
    throw optionsListError(this.getNode(), failure);
  }
  return serviceOptions(services);
}

/** `methods.listSearch.searchServices` (version 2's resource locator); the filter matches names and descriptions. */
export async function searchServices(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
  let services: ServiceSummary[];
  try {
    services = await fetchServices.call(this);
  } catch (error) {
    throw searchListError(this.getNode(), listFailure(error));
  }
  const needle = (filter ?? '').trim().toLowerCase();
  const matching =
    needle === ''
      ? services
      : services.filter((service) => `${service.name} ${typeof service.description === 'string' ? service.description : ''}`.toLowerCase().includes(needle));
  return { results: serviceListItems(matching) };
}
