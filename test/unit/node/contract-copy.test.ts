import * as proxyContract from '../../../proxy/src/contract/contract';
import * as nodeContract from '../../../nodes/SecureProxyRequest/shared/contract';
import { ERROR_HINTS } from '../../../nodes/SecureProxyRequest/shared/error-hints';

/** The node keeps a copy of the proxy's contract (the community package may not import the proxy); it must not drift. */
describe('node copy of the proxy contract', () => {
  it.each([
    'ERROR_HEADER',
    'REQUEST_ID_HEADER',
    'INTERNAL_HEADER_PREFIX',
    'FORWARD_PREFIX',
    'WHOAMI_PATH',
    'SERVICES_PATH',
    'HEALTH_PATH',
    'READY_PATH',
    'METRICS_PATH',
    'WORKFLOW_ID_HEADER',
    'WORKFLOW_NAME_HEADER',
    'EXECUTION_ID_HEADER',
    'NODE_NAME_HEADER',
    'AI_TOOL_HEADER',
    'TRACEPARENT_HEADER',
    'MAX_ATTRIBUTION_ID_LENGTH',
    'MAX_ATTRIBUTION_NAME_LENGTH',
  ] as const)('%s is the same', (name) => {
    expect(nodeContract[name]).toBe(proxyContract[name]);
  });

  it('has the same error codes, statuses, sources and meanings', () => {
    expect(nodeContract.ERROR_CODES).toEqual(proxyContract.ERROR_CODES);
  });

  it('exports no constant the proxy contract lacks, and copies every one it has', () => {
    const values = (module: object) =>
      Object.keys(module)
        .filter((key) => typeof (module as Record<string, unknown>)[key] !== 'function')
        .sort();
    expect(values(nodeContract)).toEqual(values(proxyContract));
  });

  it('has a hint for every code and none for unknown codes', () => {
    expect(Object.keys(ERROR_HINTS).sort()).toEqual(Object.keys(proxyContract.ERROR_CODES).sort());
    for (const hint of Object.values(ERROR_HINTS)) expect(hint.length).toBeGreaterThan(20);
  });
});
