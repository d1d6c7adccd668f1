/**
 * What `migrate scan` prints: one line per finding for people, or
 * `{"findings":[{workflowId, workflowName, node, nodeType, parameter, kind, fingerprint, …}]}`
 * for machines. Both are built from Findings only, which hold no secret by construction.
 */
import type { Finding } from './scan';

/** The JSON report: the documented fields first, then location and source. */
export function formatScanJson(findings: readonly Finding[]): string {
  const rows = findings.map((f) => ({
    workflowId: f.workflowId,
    workflowName: f.workflowName,
    node: f.node,
    nodeType: f.nodeType,
    parameter: f.parameter,
    kind: f.kind,
    fingerprint: f.fingerprint,
    location: f.location,
    source: f.source,
  }));
  return `${JSON.stringify({ findings: rows }, null, 2)}\n`;
}

/** The text report, grouped by workflow, with a closing count. */
export function formatScanText(findings: readonly Finding[], workflowsScanned: number): string {
  if (findings.length === 0) return `No pasted secrets found in ${workflowsScanned} workflow(s).\n`;
  const lines: string[] = [];
  let current = '';
  for (const f of findings) {
    const workflow = `${f.source}: workflow "${f.workflowName}"${f.workflowId === '' ? '' : ` (id ${f.workflowId})`}`;
    if (workflow !== current) {
      lines.push(workflow);
      current = workflow;
    }
    lines.push(`  node "${f.node}" (${f.nodeType}) ${f.parameter} [${f.location}]: ${f.kind}, fingerprint ${f.fingerprint}`);
  }
  const workflows = new Set(findings.map((f) => `${f.source}\u0000${f.workflowId}\u0000${f.workflowName}`)).size;
  lines.push(
    '',
    `${findings.length} pasted secret(s) in ${workflows} of ${workflowsScanned} workflow(s). Move them into Vault and behind the proxy: secure-proxy migrate rewrite --help`,
  );
  return `${lines.join('\n')}\n`;
}
