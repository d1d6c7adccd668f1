/**
 * A small stand-in for n8n's IExecuteFunctions / ILoadOptionsFunctions: node parameters per
 * item (resource locators included), input items with binary data, the credential,
 * continueOnFail, the execution mode and hints, and the helpers the node uses. `httpRequestWithAuthentication` records each request (with the Authorization
 * header n8n's generic `authenticate` would add) and answers through `respond`.
 */
import type {
  IBinaryData,
  ICredentialDataDecryptedObject,
  IExecuteFunctions,
  IHttpRequestOptions,
  INode,
  INodeExecutionData,
  JsonObject,
  NodeExecutionHint,
} from 'n8n-workflow';

/** A full response as n8n's helper returns it with `returnFullResponse: true`. */
export interface RawFullResponse {
  statusCode: number;
  statusMessage?: string;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
}

export interface ExecuteMockOptions {
  /** Parameters for every item, or one object per item. */
  parameters: Record<string, unknown> | Array<Record<string, unknown>>;
  items?: INodeExecutionData[];
  credentials?: ICredentialDataDecryptedObject;
  /** Answers a request (or throws, like a refused connection). */
  respond?: (options: IHttpRequestOptions, index: number) => RawFullResponse | Promise<RawFullResponse>;
  continueOnFail?: boolean;
  /** n8n's execution mode; 'manual' is a run started in the editor. Default 'cli'. */
  mode?: string;
  /** What getWorkflow() answers; default an id and a name. */
  workflow?: { id?: string; name?: string };
  /** What getExecutionId() answers; default '42'. */
  executionId?: string;
  /** The node itself (its name and type); default {@link NODE}. */
  node?: INode;
  /** n8n's OpenTelemetry hook on the execution (present when N8N_OTEL_ENABLED): writes trace headers. */
  injectTraceHeaders?: (executionId: string, nodeName: string | undefined, headers: Record<string, string>) => void;
}

export const TEST_TOKEN = 'spt_testid_TESTSECRETtestsecretTESTSECRETtestsecret0123';

export const NODE: INode = {
  id: 'node-1',
  name: 'Secure Proxy Request',
  type: 'n8n-nodes-secure-proxy.secureProxyRequest',
  typeVersion: 1,
  position: [0, 0],
  parameters: {},
};

/** `{ statusCode, headers, body }` with a JSON body and content type. */
export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): RawFullResponse {
  return { statusCode, statusMessage: '', headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: Buffer.from(JSON.stringify(body)) };
}

function lookup(source: Record<string, unknown>, path: string): unknown {
  let current: unknown = source;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || !(key in current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Builds the mock; `requests` collects what the node sent, in order. */
export function createExecuteMock(options: ExecuteMockOptions) {
  const items: INodeExecutionData[] = options.items ?? [{ json: {} }];
  const requests: IHttpRequestOptions[] = [];
  const credentials = options.credentials ?? { url: 'http://proxy.test:8080', token: TEST_TOKEN };
  const parametersFor = (itemIndex: number): Record<string, unknown> =>
    Array.isArray(options.parameters) ? (options.parameters[itemIndex] ?? {}) : options.parameters;

  const binaryOf = (itemIndex: number, property: string): IBinaryData => {
    const binary = items[itemIndex]?.binary?.[property];
    if (binary === undefined) throw new Error(`This operation expects the node's input data to contain a binary file '${property}', but none was found`);
    return binary;
  };

  const hints: NodeExecutionHint[] = [];
  const ctx = {
    getNode: () => options.node ?? NODE,
    getWorkflow: () => ({ active: false, ...(options.workflow ?? { id: 'wfTest1', name: 'Test workflow' }) }),
    getExecutionId: () => options.executionId ?? '42',
    ...(options.injectTraceHeaders === undefined ? {} : { additionalData: { otel: { injectTraceHeaders: options.injectTraceHeaders } } }),
    getMode: () => options.mode ?? 'cli',
    addExecutionHints: (...added: NodeExecutionHint[]) => hints.push(...added),
    getCurrentNodeParameter: (name: string) => lookup(parametersFor(0), name),
    getInputData: () => items,
    continueOnFail: () => options.continueOnFail === true,
    getCredentials: async () => credentials,
    getNodeParameter(name: string, itemIndex: number, fallback?: unknown, parameterOptions?: { extractValue?: boolean }) {
      const value = lookup(parametersFor(itemIndex), name);
      // Like n8n, extractValue turns a resource locator (`{ __rl, mode, value }`) into its value.
      if (parameterOptions?.extractValue && typeof value === 'object' && value !== null && '__rl' in value)
        return (value as unknown as { value: unknown }).value;
      if (value !== undefined) return value;
      if (fallback !== undefined) return fallback;
      throw new Error(`Could not get parameter "${name}"`);
    },
    helpers: {
      async httpRequestWithAuthentication(credentialType: string, request: IHttpRequestOptions) {
        if (credentialType !== 'secureProxyApi') throw new Error(`unexpected credential type ${credentialType}`);
        const sent = {
          ...request,
          headers: { ...(request.headers ?? {}), Authorization: `Bearer ${typeof credentials.token === 'string' ? credentials.token : ''}` },
        };
        requests.push(sent);
        if (options.respond === undefined) throw new Error('no respond function');
        const raw = await options.respond(sent, requests.length - 1);
        return { statusMessage: '', headers: {}, body: Buffer.alloc(0), ...raw };
      },
      async prepareBinaryData(data: Buffer, fileName?: string, mimeType?: string): Promise<IBinaryData> {
        return { data: data.toString('base64'), mimeType: mimeType ?? 'application/octet-stream', fileName, fileSize: String(data.length) };
      },
      assertBinaryData: (itemIndex: number, property: string) => binaryOf(itemIndex, property),
      async getBinaryDataBuffer(itemIndex: number, property: string) {
        return Buffer.from(binaryOf(itemIndex, property).data, 'base64');
      },
    },
  };
  return { ctx: ctx as unknown as IExecuteFunctions, requests, hints };
}

/** An axios-like network error as n8n's helper throws it (config with the Authorization header attached). */
export function networkError(code: string, authorization = `Bearer ${TEST_TOKEN}`): Error & JsonObject {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:9`) as Error & JsonObject, {
    code,
    isAxiosError: true,
    config: { url: 'http://proxy.test:8080/forward/x', headers: { Authorization: authorization } },
  });
}
