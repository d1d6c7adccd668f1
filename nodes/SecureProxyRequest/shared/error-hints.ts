/**
 * What to do about each error code of the proxy contract, in one table beside the node's copy
 * of the codes (contract.ts). errors.ts puts the hint into the error's headline, before the proxy's own message.
 */
import { ERROR_CODES, type ErrorCode } from './contract';

/** What a user can do about each contract code; test/unit/node/contract-copy.test.ts checks every code has one. */
export const ERROR_HINTS: Readonly<Record<ErrorCode, string>> = {
  PROXY_TOKEN_MISSING: 'Put the proxy token into the "Secure Proxy API" credential.',
  PROXY_TOKEN_INVALID: 'Check the proxy token in the "Secure Proxy API" credential; ask the proxy admin for a new token if it was revoked.',
  PROXY_TOKEN_EXPIRED: 'Put the rotated proxy token into the "Secure Proxy API" credential (the proxy admin issues it with "secure-proxy token generate").',
  SERVICE_UNKNOWN: 'Pick a service from the Service list (it shows the services this token may use), or fix the service name in the expression.',
  SERVICE_NOT_ALLOWED:
    'Pick another service from the Service list (it shows the services this token may use), or ask the proxy admin to grant this one to your proxy client.',
  METHOD_NOT_ALLOWED: "Use a method the service allows: the Service list shows each service's methods.",
  PATH_NOT_ALLOWED: "Use a path the service allows (the proxy's message names them), or ask the proxy admin to allow this one.",
  PATH_REJECTED:
    'Write a plain path relative to the service, like /users/42: no "..", no encoded slashes or backslashes, no full URL, and characters percent-encoded as UTF-8 (%C3%A9, not %u00e9).',
  ROUTE_NOT_FOUND: 'Check that the Proxy URL in the "Secure Proxy API" credential points at the proxy itself (no extra path).',
  SECRET_NOT_FOUND: "Ask the Vault admin to write the service's secret at the path configured in the proxy.",
  SECRET_FIELD_MISSING: "Ask the Vault admin to add the missing field (the proxy's message names it) to the service's secret in Vault.",
  VAULT_FORBIDDEN: "Ask the Vault admin to grant the proxy's Vault policy read access to the service's secret.",
  VAULT_UNAVAILABLE:
    "Retry later (the node's Retry On Fail setting helps); the platform team should check Vault (sealed, unreachable, rate limited) and the proxy's Vault login (the message says when Vault refused it).",
  UPSTREAM_UNREACHABLE: "Check the API's status page; the proxy admin can check the service's target URL.",
  UPSTREAM_TIMEOUT: "Retry, or ask the proxy admin to raise the service's timeoutMs if the API is slow for this request.",
  UPSTREAM_TOKEN_FAILED:
    "The API's OAuth2 token endpoint refused the proxy (the message gives its OAuth error code); ask the Vault admin to check the client credentials or refresh token stored for the service.",
  UPSTREAM_UNSCRUBBABLE:
    "The API's answer was compressed in a way the proxy cannot check for secrets; ask the proxy admin to look at the service (the proxy log names the encoding).",
  REQUEST_MALFORMED:
    'The proxy could not parse the request safely (bad header characters or conflicting body lengths); check custom headers in the node for line breaks.',
  HEADERS_TOO_LARGE: 'Send fewer or shorter headers (custom headers or cookies); the proxy admin can raise listen.maxHeaderBytes.',
  REQUEST_TIMEOUT: 'Retry; if it repeats, check the network between n8n and the proxy (the body was sent too slowly).',
  BODY_TOO_LARGE: "Send a smaller body, or ask the proxy admin to raise the service's maxBodyBytes.",
  HOST_NOT_ALLOWED:
    'Use the proxy\'s own address as the Proxy URL in the "Secure Proxy API" credential; the proxy admin lists accepted host names in listen.allowedHosts.',
  PROXY_TOKEN_THROTTLED:
    'Too many requests with a bad proxy token came from this n8n; fix the token in the "Secure Proxy API" credential and retry after the Retry-After time.',
  UPSTREAM_ADDRESS_FORBIDDEN:
    "The proxy refused to connect: the API's host name resolved to an internal address. Ask the proxy admin to check the service's target (and its DNS).",
  UPSTREAM_TLS_FAILED:
    "The API's TLS certificate could not be verified by the proxy; ask the proxy admin to check the service's certificate settings (caFile).",
  NOT_READY: "Retry in a moment; the platform team should check the proxy's Vault login in its log.",
  SHUTTING_DOWN: 'Retry: another proxy replica will answer.',
  INTERNAL_ERROR: 'Report it to the proxy admin with the proxy request id; the audit log has the details.',
  UPSTREAM_RESPONSE_INVALID:
    "The API's answer was malformed or cut short, so the proxy did not relay it; retry, and if it repeats ask the proxy admin to check the API (the audit log names what was wrong).",
  EXPECTATION_UNSUPPORTED: "Remove the Expect header from the node's custom headers; only 'Expect: 100-continue' is supported.",
  WORKFLOW_NOT_ALLOWED:
    "The proxy lets this credential use the service only from certain workflows (the proxy's message names the rule); run the request from one of them, or ask the proxy admin to add this workflow's id (in the workflow's URL) to the client's workflows for the service.",
  SERVICE_RATE_LIMITED:
    "The service's shared request limit in the proxy is reached: retry after the Retry-After time (the node's Retry On Fail setting helps), slow this workflow down with Batching, or ask the proxy admin about the service's limits.",
};

function isKnownCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/** The hint for a code; codes newer than this copy of the contract get a generic one. */
export function hintFor(code: string): string {
  return isKnownCode(code) ? ERROR_HINTS[code] : "See the proxy's error code list (docs/error-codes.md) for this code.";
}
