/**
 * Reading what `n8n execute --rawOutput` prints. stdout holds n8n's log lines and the execution
 * as pretty-printed JSON: its first line is `{` and its last `}`, both in column 0 (nothing else
 * in two-space-indented JSON is). On failure n8n logs the same JSON at level info, followed by
 * more log lines.
 */

export interface NodeOutputItem {
  json: Record<string, unknown>;
  pairedItem?: unknown;
  binary?: Record<string, unknown>;
}

/** One run of one node. */
export interface NodeRun {
  executionStatus?: string;
  data?: { main: Array<NodeOutputItem[] | null> };
  error?: { message: string; description?: string; httpCode?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface ExecutionOutput {
  status: string;
  finished: boolean;
  mode: string;
  data: {
    resultData: {
      runData: Record<string, NodeRun[]>;
      error?: { message: string; [key: string]: unknown };
      lastNodeExecuted?: string;
    };
  };
}

export function parseExecutionOutput(stdout: string): ExecutionOutput | undefined {
  const lines = stdout.split('\n');
  const start = lines.indexOf('{');
  if (start < 0) return undefined;
  const end = lines.indexOf('}', start + 1);
  if (end < 0) return undefined;
  return JSON.parse(lines.slice(start, end + 1).join('\n')) as ExecutionOutput;
}

/** The `json` of each item a node put on an output in a run (default: first output, last run). */
export function outputItems(
  result: { runData?: Record<string, NodeRun[]> },
  nodeName: string,
  { run = -1, output = 0 }: { run?: number; output?: number } = {},
): Array<Record<string, unknown>> {
  const runs = result.runData?.[nodeName];
  if (!runs?.length) throw new Error(`node "${nodeName}" did not run (ran: ${Object.keys(result.runData ?? {}).join(', ') || 'none'})`);
  const nodeRun = runs.at(run);
  if (nodeRun?.error) throw new Error(`node "${nodeName}" failed: ${nodeRun.error.message}`);
  return (nodeRun?.data?.main[output] ?? []).map((item) => item.json);
}
