/**
 * Reading the attribution headers: what the node encodes comes back as it was (any Unicode,
 * bounded), and anything else is ignored and named, never thrown on; the W3C traceparent's
 * trace id is kept only from a valid value.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { readAttribution, traceIdFrom } from '../../../proxy/src/forward/attribution';
import { WORKFLOW_ID_SHAPE as PROXY_ID_SHAPE } from '../../../proxy/src/shared/workflow-id';
import { encodeName, WORKFLOW_ID_SHAPE as NODE_ID_SHAPE } from '../../../nodes/SecureProxyRequest/attribution';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

describe('readAttribution', () => {
  it('is null for a request without any attribution header (no allocation for most requests)', () => {
    expect(readAttribution({ accept: '*/*', 'x-secure-proxy-other': 'x' })).toBeNull();
  });

  it('reads every field the node sends', () => {
    const headers: IncomingHttpHeaders = {
      'x-secure-proxy-workflow-id': 'V9xTRe2yW6kXnqDp',
      'x-secure-proxy-workflow-name': encodeURIComponent('Nightly invoices'),
      'x-secure-proxy-execution-id': '48213',
      'x-secure-proxy-node-name': encodeURIComponent('Charge customer'),
      'x-secure-proxy-ai-tool': 'true',
      traceparent: TRACEPARENT,
    };
    expect(readAttribution(headers)).toEqual({
      workflowId: 'V9xTRe2yW6kXnqDp',
      workflowName: 'Nightly invoices',
      executionId: '48213',
      nodeName: 'Charge customer',
      aiTool: true,
      traceId: TRACE_ID,
      invalid: null,
    });
  });

  it.each([
    ['emoji and a combining mark', 'Rechnungen 🧾 café'],
    ['right-to-left script', 'فواتير ليلية'],
    ['CJK', '夜間請求書ワークフロー'],
    ['quotes, percent signs and JSON-looking text', `"}{\\%25 100% 'x'`],
    ['a pair of astral characters', '𝕏𝕐'],
  ])('round-trips a name with %s through the node encoding', (_what, name) => {
    const attribution = readAttribution({ 'x-secure-proxy-workflow-name': encodeName(name), 'x-secure-proxy-node-name': encodeName(name) });
    expect(attribution).toMatchObject({ workflowName: name, nodeName: name, invalid: null });
  });

  it('gets the node-shortened form of a long name within the bound, never a split character', () => {
    const long = '🧾'.repeat(400); // 800 UTF-16 units
    const attribution = readAttribution({ 'x-secure-proxy-workflow-name': encodeName(long) });
    expect(attribution?.invalid).toBeNull();
    const name = attribution!.workflowName!;
    expect(name.length).toBeLessThanOrEqual(256);
    expect(name.endsWith('…')).toBe(true);
    expect(name.slice(0, -1)).toBe('🧾'.repeat((name.length - 1) / 2));
  });

  it('turns control and bidi characters into spaces on the node side, so the proxy accepts the name', () => {
    const attribution = readAttribution({ 'x-secure-proxy-node-name': encodeName('a\nb\u202Ec\u0000d') });
    expect(attribution).toMatchObject({ nodeName: 'a b c d', invalid: null });
  });

  it.each<[string, IncomingHttpHeaders, string]>([
    ['a raw (not percent-encoded) name', { 'x-secure-proxy-workflow-name': 'Nightly invoices' }, 'workflowName'],
    ['a repeated header, joined by Node with ", "', { 'x-secure-proxy-workflow-id': 'abc, def' }, 'workflowId'],
    ['a broken escape', { 'x-secure-proxy-node-name': 'abc%E' }, 'nodeName'],
    ['escapes that are not UTF-8', { 'x-secure-proxy-node-name': '%C0%AE%FF' }, 'nodeName'],
    ['an encoded line break', { 'x-secure-proxy-node-name': 'a%0Ab' }, 'nodeName'],
    ['an encoded NUL', { 'x-secure-proxy-workflow-name': 'a%00b' }, 'workflowName'],
    ['an encoded bidi override', { 'x-secure-proxy-workflow-name': 'a%E2%80%AEb' }, 'workflowName'],
    ['an encoded line separator', { 'x-secure-proxy-workflow-name': 'a%E2%80%A8b' }, 'workflowName'],
    ['a name over 256 units', { 'x-secure-proxy-workflow-name': 'a'.repeat(257) }, 'workflowName'],
    ['an id over 128 characters', { 'x-secure-proxy-workflow-id': 'a'.repeat(129) }, 'workflowId'],
    ['an id with a slash', { 'x-secure-proxy-workflow-id': encodeURIComponent('a/b') }, 'workflowId'],
    ['an id with a space', { 'x-secure-proxy-execution-id': '1%202' }, 'executionId'],
    ['an empty id', { 'x-secure-proxy-workflow-id': '' }, 'workflowId'],
    ['a blank name', { 'x-secure-proxy-node-name': '%20%20' }, 'nodeName'],
    ['an ai-tool value other than true/false', { 'x-secure-proxy-ai-tool': 'yes' }, 'aiTool'],
    ['a malformed traceparent', { traceparent: 'not-a-trace' }, 'traceId'],
  ])('ignores %s and names the field', (_what, headers, field) => {
    const attribution = readAttribution(headers);
    expect(attribution).not.toBeNull();
    expect(attribution!.invalid).toEqual([field]);
    expect((attribution as unknown as Record<string, unknown>)[field]).toBeNull();
  });

  it('keeps the valid fields beside an ignored one', () => {
    const attribution = readAttribution({ 'x-secure-proxy-workflow-id': 'wf1', 'x-secure-proxy-workflow-name': 'bad name', 'x-secure-proxy-ai-tool': 'FALSE' });
    expect(attribution).toEqual({
      workflowId: 'wf1',
      workflowName: null,
      executionId: null,
      nodeName: null,
      aiTool: false,
      traceId: null,
      invalid: ['workflowName'],
    });
  });

  it('accepts ":" in an id once percent-encoded, as the node sends it', () => {
    expect(readAttribution({ 'x-secure-proxy-workflow-id': encodeURIComponent('team:wf-1') })?.workflowId).toBe('team:wf-1');
  });

  it('never throws, whatever bytes arrive', () => {
    const samples = ['%', '%%', '%zz', '%ED%A0%80', '\u00ff\u00fe', 'a'.repeat(10_000), '%E2%82', "()!*~'", '%25'];
    for (const raw of samples) {
      expect(() =>
        readAttribution({
          'x-secure-proxy-workflow-id': raw,
          'x-secure-proxy-workflow-name': raw,
          'x-secure-proxy-execution-id': raw,
          'x-secure-proxy-node-name': raw,
          'x-secure-proxy-ai-tool': raw,
          traceparent: raw,
        }),
      ).not.toThrow();
    }
  });

  it('uses the same id shape on both sides of the contract', () => {
    expect(NODE_ID_SHAPE.source).toBe(PROXY_ID_SHAPE.source);
  });
});

describe('traceIdFrom', () => {
  it.each([
    [TRACEPARENT, TRACE_ID],
    [`  ${TRACEPARENT}  `, TRACE_ID],
    [`01-${TRACE_ID}-00f067aa0ba902b7-01-future-field`, TRACE_ID],
    [`00-${TRACE_ID}-00f067aa0ba902b7-01-extra`, null],
    [`ff-${TRACE_ID}-00f067aa0ba902b7-01`, null],
    [`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, null],
    [`00-${TRACE_ID}-${'0'.repeat(16)}-01`, null],
    [`00-${TRACE_ID.toUpperCase()}-00f067aa0ba902b7-01`, null],
    ['00-abc-def-01', null],
  ])('%s → %s', (value, expected) => {
    expect(traceIdFrom(value)).toBe(expected);
  });
});
