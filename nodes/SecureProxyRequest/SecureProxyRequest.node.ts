import {
  NodeConnectionTypes,
  sleep,
  type IDataObject,
  type IExecuteFunctions,
  type INodeExecutionData,
  type INodeType,
  type INodeTypeDescription,
} from 'n8n-workflow';
import { nodeProperties } from './description';
import { asNodeError, errorItemJson } from './errors';
import { addClientHint, wantsClientHint } from './methods/client-hint';
import { secureProxyApiTest } from './methods/credential-test';
import { getServices, searchServices } from './methods/load-options';
import { readBatchSettings } from './node-options';
import { readProxyTarget } from './proxy-target';
import { runItem } from './run-item';

/**
 * Secure Proxy Request: calls an API through the secure proxy, which holds the API's
 * credential (from Vault) and injects it on the wire. The workflow only references the
 * "Secure Proxy API" credential (proxy URL + proxy token).
 *
 * This file assembles the node; the work happens in the helper modules (request/,
 * response/, pagination.ts, errors.ts, transport.ts, methods/). execute() only loops over the
 * items, in batches, with per-item error handling and paired items; a run from the editor
 * also gets a hint naming the proxy client (methods/client-hint.ts).
 */
export class SecureProxyRequest implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'Secure Proxy Request',
    name: 'secureProxyRequest',
    icon: { light: 'file:secureProxy.svg', dark: 'file:secureProxy.dark.svg' },
    group: ['output'],
    // Version 2 turned Service into a resource locator (From List / By Name); version 1
    // workflows keep the dropdown that stores the name as a plain string.
    version: [1, 2],
    defaultVersion: 2,
    // Service is a plain string in version 1 and `{ __rl, mode, value }` from version 2.
    subtitle:
      '={{$parameter["method"] + " " + (typeof $parameter["service"] === "object" ? $parameter["service"].value : $parameter["service"]) + $parameter["path"]}}',
    description: 'Call an API through the secure proxy, which adds the API credential from Vault',
    defaults: { name: 'Secure Proxy Request' },
    usableAsTool: true,
    inputs: [NodeConnectionTypes.Main],
    outputs: [NodeConnectionTypes.Main],
    credentials: [{ name: 'secureProxyApi', required: true, testedBy: 'secureProxyApiTest' }],
    properties: nodeProperties,
  };

  methods = {
    loadOptions: { getServices },
    listSearch: { searchServices },
    credentialTest: { secureProxyApiTest },
  };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    const items = this.getInputData();
    const target = await readProxyTarget.call(this);
    const batch = readBatchSettings(this.getNodeParameter('options', 0, {}) as IDataObject);
    const size = batch.size < 0 ? Math.max(items.length, 1) : batch.size;
    const results: INodeExecutionData[][] = [];

    for (let start = 0; start < items.length; start += size) {
      if (start > 0 && batch.intervalMs > 0) await sleep(batch.intervalMs);
      const indexes = Array.from({ length: Math.min(size, items.length - start) }, (_, offset) => start + offset);
      const outcomes = await Promise.all(
        indexes.map(async (itemIndex) => {
          try {
            const output = await runItem.call(this, itemIndex, target);
            return output.map((item) => ({ ...item, pairedItem: { item: itemIndex } }));
          } catch (error) {
            const nodeError = asNodeError(this.getNode(), error, itemIndex);
            if (this.continueOnFail()) return [{ json: errorItemJson(nodeError), pairedItem: { item: itemIndex } }];
            return nodeError;
          }
        }),
      );
      for (const outcome of outcomes) {
        // The first failing item (in item order) stops the node, after its batch has settled.
        if (!Array.isArray(outcome)) throw outcome;
        results.push(outcome);
      }
    }
    if (wantsClientHint(this)) await addClientHint.call(this, target);
    return [results.flat()];
  }
}
