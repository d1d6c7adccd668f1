/**
 * Errors for the Service list, worded like an execution's, in the shape n8n 2.41's editor can
 * show. How the editor turns a list method's error into text (n8n's sources, 2.41.1):
 *
 * - n8n's REST layer (packages/cli/src/response-helper.ts, `sendErrorResponse`) answers
 *   `{ code, message }` for any error and, for a `NodeApiError`, copies the error's own fields
 *   (description, httpCode, context, ...) and its `name` into that body too.
 * - The editor's REST client (packages/frontend/@n8n/rest-api-client/src/utils.ts, `request`) throws a
 *   `ResponseError` (an `Error`) carrying only `message` for such a body, except when
 *   `name === 'NodeApiError'`: then it throws the plain response object itself.
 * - A dropdown (`options` with `loadOptionsMethod`; packages/frontend/editor-ui/src/features/ndv/
 *   parameters/components/ParameterInput.vue, `loadRemoteParameterOptions`) keeps
 *   `error instanceof Error ? error.message : String(error)`, so a NodeApiError's plain object
 *   becomes "[object Object]" in "There was a problem loading the parameter options from
 *   server: …", and its description is never shown. The field itself then reads "Error
 *   fetching options from <node>" instead of the saved value, whatever the error.
 * - A resource locator's list (…/components/ResourceLocator/ResourceLocator.vue) reads `message`, `description` and
 *   `httpCode` from whatever was thrown, and shows them under "Could not load list" (the
 *   description as a warning, a 401/403 with a link to the credential). Before showing the
 *   message it splits it at every dash (`-`, `–`, `—`) and joins the pieces with spaces,
 *   which would turn `https://secure-proxy.internal` into `https://secure proxy.internal`.
 *
 * So a dropdown gets a NodeOperationError whose message holds the whole text, and the
 * resource locator a NodeApiError with message and description, dashes in the message written
 * as look-alike characters the editor does not split at. Look-alikes must never be the only
 * copy of a URL or name a builder may paste somewhere: when the message had dashes, the
 * description starts with the message as it is.
 */
import { NodeApiError, NodeOperationError, type INode } from 'n8n-workflow';
import { apiError, parameterError } from '../errors';

/** What went wrong, headline and what to do, from any error a list method ran into. */
export interface ListFailure {
  message: string;
  description: string;
  /** The proxy's HTTP status, when it answered. */
  httpCode?: string;
}

/** Reads the headline, details and status of a failed list load. */
export function listFailure(error: unknown): ListFailure {
  if (error instanceof NodeApiError || error instanceof NodeOperationError) {
    const httpCode = error instanceof NodeApiError && error.httpCode ? error.httpCode : undefined;
    return { message: error.message, description: typeof error.description === 'string' ? error.description : '', ...(httpCode ? { httpCode } : {}) };
  }
  return { message: error instanceof Error ? error.message : String(error), description: '' };
}

/** Headline and details as one text: "Headline. Details" (no doubled full stop). */
export function failureText(failure: ListFailure): string {
  if (failure.description === '') return failure.message;
  const headline = /[.!?…]$/.test(failure.message) ? failure.message : `${failure.message}.`;
  return `${headline} ${failure.description}`;
}

/** The error a dropdown (`loadOptionsMethod`) throws: the whole text in the message, which is all the editor shows. */
export function optionsListError(node: INode, failure: ListFailure): NodeOperationError {
  return parameterError(node, failureText(failure));
}

/** Dashes written as characters that look the same but that n8n's resource locator does not split at. */
export function keepDashes(text: string): string {
  return text
    .replace(/-/g, '\u2011')
    .replace(/\u2013/g, '\u2012')
    .replace(/\u2014/g, '\u2015');
}

/** The error a resource locator's list (`searchListMethod`) throws: headline, details and status apart. */
export function searchListError(node: INode, failure: ListFailure): NodeApiError {
  const shown = keepDashes(failure.message);
  const description = shown === failure.message ? failure.description : failureText(failure);
  return apiError(node, { message: shown, description, httpCode: failure.httpCode });
}
