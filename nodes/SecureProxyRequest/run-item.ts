/**
 * One input item, start to end: read the options, build the request, send it through the
 * proxy (following in-service redirects, paginating when asked), check each response and
 * turn the responses into items. The node's execute() only loops items around this.
 */
import { sleep, type IDataObject, type IExecuteFunctions } from 'n8n-workflow';
import { attributionHeaders } from './attribution';
import { apiError, errorForResponse, parameterError } from './errors';
import { readNodeOptions } from './node-options';
import { paginate } from './pagination';
import { buildRequest } from './request';
import { forwardPath, type Fail } from './request/path';
import { sendFollowingRedirects } from './redirects';
import { responseToItems } from './response/items';
import type { OutputItem, ProxyResponse, ProxyTarget, SendFunction } from './shared/types';
import { sendToProxy } from './transport';

/** Runs the request(s) of one item; the items it returns lack `pairedItem` (the node adds it). */
export async function runItem(this: IExecuteFunctions, itemIndex: number, target: ProxyTarget): Promise<OutputItem[]> {
  const node = this.getNode();
  const fail: Fail = (message, description) => {
    throw parameterError(node, message, { description, itemIndex });
  };
  const options = readNodeOptions(this.getNodeParameter('options', itemIndex, {}) as IDataObject, fail);
  const request = await buildRequest.call(this, itemIndex, options);
  // Who is calling, for the proxy's audit line and per-workflow rules; the proxy strips these before forwarding.
  const attribution = attributionHeaders(this);

  const sendOnce: SendFunction = async (next) =>
    await sendToProxy.call(
      this,
      target,
      { method: next.method, path: forwardPath(next), headers: { ...next.headers, ...attribution }, body: next.body, timeout: next.timeout },
      { service: next.service, itemIndex },
    );
  const send: SendFunction = async (next) =>
    await sendFollowingRedirects(sendOnce, next, options.redirect, target.baseUrl, (count) => {
      throw apiError(node, {
        message: `The API of service "${next.service}" redirected more than ${count} times`,
        description: 'Raise Max Redirects in the Redirects option, or turn off Follow Redirects to read the redirect response.',
        itemIndex,
      });
    });
  const check = (response: ProxyResponse): void => {
    if (options.response.neverError) return;
    const error = errorForResponse(node, response, { target, service: request.service, itemIndex });
    if (error !== null) throw error;
  };

  let responses: ProxyResponse[];
  if (options.pagination === null) {
    const response = await send(request);
    check(response);
    responses = [response];
  } else {
    responses = await paginate(request, options.pagination, { send, check, sleep, proxyBaseUrl: target.baseUrl, fail });
  }

  const items: OutputItem[] = [];
  const prepareBinary = async (data: Buffer, fileName?: string, mimeType?: string) => await this.helpers.prepareBinaryData(data, fileName, mimeType);
  for (const response of responses) {
    items.push(...(await responseToItems(response, options.response, request.path, prepareBinary, fail)));
  }
  return items;
}
