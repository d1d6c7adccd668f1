/**
 * After a run from the editor, a hint above the output names the proxy client the credential
 * belongs to, its services and when its token expires (from `GET /v1/whoami`). n8n shows the
 * credential test's own message only when the test fails, and parameter hints and notices are
 * fixed text, so this is where a builder sees which client the workflow acts as.
 * Production runs never make this extra call.
 */
import type { IExecuteFunctions } from 'n8n-workflow';
import { WHOAMI_PATH } from '../shared/contract';
import { parseJsonBody } from '../shared/response';
import type { ProxyTarget } from '../shared/types';
import { sendToProxy } from '../transport';
import { listFailure } from './list-errors';
import { describeClient, expiresSoon, expiryWarning, isWhoami } from './whoami';

/** The hint waits this long for the proxy. */
const HINT_TIMEOUT = 5_000;

/** Whether a run gets the hint: only runs a builder starts in the editor. */
export function wantsClientHint(ctx: Pick<IExecuteFunctions, 'getMode'>): boolean {
  return ctx.getMode() === 'manual';
}

/** Asks the proxy who the credential is and adds the answer (or why there is none) as an execution hint. */
export async function addClientHint(this: IExecuteFunctions, target: ProxyTarget): Promise<void> {
  let response;
  try {
    response = await sendToProxy.call(this, target, { method: 'GET', path: WHOAMI_PATH, headers: { accept: 'application/json' }, timeout: HINT_TIMEOUT });
  } catch (error) {
    this.addExecutionHints({
      type: 'info',
      location: 'outputPane',
      message: `Could not ask the secure proxy which client this credential is: ${listFailure(error).message}`,
    });
    return;
  }
  const body = parseJsonBody(response.body);
  if (response.statusCode !== 200 || !isWhoami(body)) {
    this.addExecutionHints({
      type: 'info',
      location: 'outputPane',
      message: `Could not ask the secure proxy which client this credential is: ${WHOAMI_PATH} answered with ${response.statusCode}`,
    });
    return;
  }
  const warning = expiryWarning(body, 'the "Secure Proxy API" credential');
  this.addExecutionHints({
    type: expiresSoon(body) ? 'warning' : 'info',
    location: 'outputPane',
    message: `Sent through the secure proxy as ${describeClient(body)}${warning === '' ? '' : `. ${warning}`}`,
  });
}
