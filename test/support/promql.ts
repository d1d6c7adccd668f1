/**
 * Reads PromQL the way Prometheus's own editor does (its lezer grammar), for tests of the
 * dashboards and alert rules: which metrics an expression selects, with which label
 * matchers, and which labels its aggregations group by. Also parses the text exposition
 * format of /metrics into families and samples.
 */
import { parser } from '@prometheus-io/lezer-promql';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** One `metric{label="…"}` selector of an expression. */
export interface Selector {
  metric: string;
  labels: string[];
}

/** What an expression refers to; `problems` lists syntax errors (empty when it parses). */
export interface PromqlReading {
  selectors: Selector[];
  /** `by (…)` groupings, each with the metrics selected inside the aggregation. */
  groupings: Array<{ labels: string[]; metrics: string[] }>;
  problems: string[];
}

/** Parses one PromQL expression. */
export function readPromql(expr: string): PromqlReading {
  const tree = parser.parse(expr);
  const text = (node: SyntaxNode): string => expr.slice(node.from, node.to);
  const reading: PromqlReading = { selectors: [], groupings: [], problems: [] };
  const selectorsIn = (node: SyntaxNode): Selector[] => {
    const found: Selector[] = [];
    const cursor = node.cursor();
    do {
      if (cursor.name === 'VectorSelector') {
        const selector = cursor.node;
        const name = selector.getChild('Identifier');
        const labels = selector.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? [];
        if (name !== null) found.push({ metric: text(name), labels: labels.map((m) => text(m.getChild('LabelName')!)) });
        // A selector without a metric name ({__name__=~"…"}) is not used here; say so rather than skip it.
        else reading.problems.push(`a selector without a metric name: ${text(selector)}`);
      }
    } while (cursor.next() && cursor.from < node.to);
    return found;
  };
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) reading.problems.push(`syntax error at ${ref.from}: "${expr.slice(Math.max(0, ref.from - 20), ref.to + 20)}"`);
      if (ref.name === 'AggregateExpr') {
        const modifier = ref.node.getChild('AggregateModifier');
        const body = ref.node.getChild('FunctionCallBody');
        if (modifier?.getChild('By') && body !== null) {
          const labels = (modifier.getChild('GroupingLabels')?.getChildren('LabelName') ?? []).map(text);
          reading.groupings.push({ labels, metrics: selectorsIn(body).map((s) => s.metric) });
        }
      }
    },
  });
  reading.selectors = selectorsIn(tree.topNode);
  return reading;
}

/** A family from `# TYPE` and the label names its samples carry. */
export interface MetricFamily {
  type: string;
  /** Sample names with their label names, e.g. `x_bucket` → {le, service}. */
  samples: Map<string, Set<string>>;
}

/** Families of a Prometheus text exposition, keyed by family name. */
export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const familyOf = (sample: string): MetricFamily | undefined => families.get(sample) ?? families.get(sample.replace(/_(bucket|sum|count)$/, ''));
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) {
      families.set(type[1], { type: type[2], samples: new Map() });
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s/.exec(line);
    if (sample === null) throw new Error(`not an exposition line: ${line}`);
    const family = familyOf(sample[1]);
    if (family === undefined) throw new Error(`a sample without a # TYPE line: ${line}`);
    const labels = family.samples.get(sample[1]) ?? new Set<string>();
    for (const label of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) labels.add(label[1]);
    family.samples.set(sample[1], labels);
  }
  return families;
}

/** The series names a family can be selected by: a histogram's `_bucket`, `_sum`, `_count`, … */
export function seriesNames(name: string, family: MetricFamily): string[] {
  switch (family.type) {
    case 'histogram':
      return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
    case 'summary':
      return [name, `${name}_sum`, `${name}_count`];
    default:
      return [name];
  }
}
