/**
 * deploy/monitoring: the Grafana dashboard and the Prometheus alert rules name only metrics a
 * running proxy exports. Every expression is parsed with Prometheus's own PromQL grammar; each
 * metric it selects must be declared on /metrics of a real `secure-proxy serve` (child process,
 * Vault emulator, echo upstream), and each label it matches or groups by must appear on that
 * metric's samples after some traffic. `up` is the one name Prometheus records itself.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { generateToken } from '../../proxy/src/auth/token-format';
import { canary, startHarness, type ProxyHarness } from '../support/proxy-harness';
import { parseExposition, readPromql, seriesNames, type MetricFamily } from '../support/promql';
import { createServeFolder, expectOutputHides, startServe, stopServe, type ServeFolder, type ServeProcess } from '../support/serve-process';
import { writePolicy } from '../support/vault-setup';

jest.setTimeout(120_000);

const MONITORING = join(__dirname, '../../deploy/monitoring');
/** Series Prometheus makes itself for every target; not on /metrics. */
const FROM_PROMETHEUS = new Set(['up']);
/** Target labels Prometheus adds to every series it scrapes. */
const TARGET_LABELS = new Set(['job', 'instance']);

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (
  parseYaml(readFileSync(join(MONITORING, 'secure-proxy-alerts.yaml'), 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }
).groups.flatMap((group) => group.rules);

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Array<{ expr: string; refId: string }>;
}
const dashboard = JSON.parse(readFileSync(join(MONITORING, 'secure-proxy-dashboard.json'), 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string | { query: string } }> };
};
const variables = dashboard.templating.list.map((v) => v.name);

/** Grafana's variables as Prometheus sees them once Grafana has replaced them. */
function withGrafanaVariables(expr: string): string {
  return expr
    .replaceAll(/\$__(rate_interval|interval|range)\b/g, '5m')
    .replaceAll(/\$\{?([A-Za-z_]\w*)\}?/g, (match, name: string) => (variables.includes(name) ? '.*' : match));
}

/** Every expression, with where it comes from. */
const expressions: Array<[string, string]> = [
  ...rules.map((rule): [string, string] => [`rule ${rule.alert ?? rule.record}`, rule.expr]),
  ...dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((t): [string, string] => [`panel "${panel.title}" ${t.refId}`, withGrafanaVariables(t.expr)]),
  ),
  ...dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v): [string, string] => {
      const query = typeof v.query === 'string' ? v.query : v.query.query;
      const selector = /^label_values\((.+), *[A-Za-z_]\w*\)$/.exec(query);
      if (selector === null) throw new Error(`variable ${v.name}: expected label_values(selector, label), got ${query}`);
      return [`variable ${v.name}`, withGrafanaVariables(selector[1])];
    }),
];

describe('deploy/monitoring files', () => {
  it('every expression is PromQL that parses, with no Grafana variable left', () => {
    const problems = expressions.flatMap(([where, expr]) => [
      ...readPromql(expr).problems.map((p) => `${where}: ${p}`),
      ...(expr.includes('$') ? [`${where}: an unknown variable in ${expr}`] : []),
    ]);
    expect(problems).toEqual([]);
    expect(expressions.length).toBeGreaterThan(40);
  });

  it('the parser notices a broken expression (so the check above can fail)', () => {
    expect(readPromql('sum(rate(secure_proxy_requests_total[5m])').problems).not.toEqual([]);
    expect(readPromql('secure_proxy_ready == 0').problems).toEqual([]);
  });

  it('alert rules are complete: a unique name, a severity, a summary and a description each', () => {
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const rule of rules) {
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
        alert: expect.stringMatching(/^SecureProxy[A-Za-z]+$/),
        severity: expect.stringMatching(/^(critical|warning)$/),
      });
      expect(rule.annotations).toEqual(expect.objectContaining({ summary: expect.any(String), description: expect.any(String) }));
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/);
    }
  });

  it.each([
    ['the proxy is down', 'SecureProxyDown', 'up'],
    ['the proxy is not ready', 'SecureProxyNotReady', 'secure_proxy_ready'],
    ['Vault is unavailable', 'SecureProxyVaultUnavailable', 'secure_proxy_vault_requests_total'],
    ['secrets are served stale', 'SecureProxyServingStaleSecrets', 'secure_proxy_secret_cache_total'],
    ['proxy tokens expire soon', 'SecureProxyTokensExpiringSoon', 'secure_proxy_tokens_expiring_soon'],
    ['upstream errors of a service', 'SecureProxyUpstreamErrorRate', 'secure_proxy_requests_total'],
    ['bad-token throttling', 'SecureProxyAuthThrottling', 'secure_proxy_auth_throttled_total'],
  ])('an alert says %s (%s on %s)', (_what, alert, metric) => {
    const rule = rules.find((r) => r.alert === alert);
    expect(rule).toBeDefined();
    expect(readPromql(rule!.expr).selectors.map((s) => s.metric)).toContain(metric);
  });

  it('the upstream error alert is per service', () => {
    const rule = rules.find((r) => r.alert === 'SecureProxyUpstreamErrorRate')!;
    const { groupings } = readPromql(rule.expr);
    expect(groupings.length).toBeGreaterThan(0);
    for (const grouping of groupings) expect(grouping.labels).toEqual(['service']);
  });

  it('dashboard panels have unique ids and use the datasource variable', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.uid).toBe('secure-proxy');
    expect(readFileSync(join(MONITORING, 'secure-proxy-dashboard.json'), 'utf8')).not.toMatch(/"uid": "(?!\$\{datasource\}|secure-proxy")/);
  });
});

describe('against a running proxy', () => {
  const SECRET = canary('monitoring');
  const prod = generateToken();
  const expiring = generateToken();
  let harness: ProxyHarness;
  let folder: ServeFolder;
  let proc: ServeProcess;
  let families: Map<string, MetricFamily>;

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    const { vault, mount } = harness;
    // The harness policy, plus what the documented proxy policy grants for token records.
    await writePolicy(vault, `${vault.prefix}-proxy`, {
      path: {
        [`${mount}/data/svc/*`]: { capabilities: ['read'] },
        [`sys/internal/ui/mounts/${mount}`]: { capabilities: ['read'] },
        [`${mount}/metadata/secure-proxy/clients/`]: { capabilities: ['list'] },
        [`${mount}/data/secure-proxy/clients/*`]: { capabilities: ['read'] },
      },
    });
    folder = createServeFolder(harness, 'sp-monitoring-');
    const soon = new Date(Date.now() + 3 * 86400_000).toISOString();
    // Written directly: the helper's config has no place for a token expiry.
    const config = [
      'listen: { host: 127.0.0.1, port: 0 }',
      'ops: { host: 127.0.0.1, port: 0 }',
      'vault:',
      `  address: ${vault.address}`,
      `  auth: { method: approle, roleId: "\${VAULT_ROLE_ID}", secretId: "\${VAULT_SECRET_ID}", mount: ${harness.approleMount} }`,
      `  kvMount: ${mount}`,
      'tokenStore: { refreshSeconds: 60 }',
      'authThrottle: { maxFailures: 1, windowSeconds: 600 }',
      'clients:',
      `  n8n-prod: { tokenHashes: ["${prod.hash}", { hash: "${expiring.hash}", expiresAt: "${soon}" }], services: [echo] }`,
      'services:',
      `  echo: { target: "${harness.upstream.url}/base", secret: svc/echo, inject: { type: bearer, field: token } }`,
      '',
    ].join('\n');
    writeFileSync(folder.configFile, config);
    const started = await startServe(harness, folder.configFile);
    proc = started.proc;
    const opsUrl = /"opsUrl":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(proc.output())![1];

    // Some traffic, so labelled series have samples: a forwarded request, and bad tokens until throttled.
    const forwarded = await fetch(`${started.url}/forward/echo/hello`, { headers: { authorization: `Bearer ${prod.token}` } });
    expect(forwarded.status).toBe(200);
    await forwarded.arrayBuffer();
    const refusals: number[] = [];
    for (let i = 0; i < 3; i++) {
      const refused = await fetch(`${started.url}/v1/whoami`, { headers: { authorization: `Bearer ${generateToken().token}` } });
      refusals.push(refused.status);
      await refused.arrayBuffer();
    }
    expect(refusals).toEqual([401, 429, 429]);
    const metrics = await fetch(`${opsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    families = parseExposition(await metrics.text());
  });

  afterAll(async () => {
    const code = await stopServe(proc);
    if (proc !== undefined) expectOutputHides(proc, [SECRET, prod.token, expiring.token]);
    await harness?.close();
    folder?.remove();
    expect(code).toBe(0);
  });

  /** Series name → its family, for every series /metrics declares. */
  function declaredSeries(): Map<string, MetricFamily> {
    const series = new Map<string, MetricFamily>();
    for (const [name, family] of families) for (const seriesName of seriesNames(name, family)) series.set(seriesName, family);
    return series;
  }

  it('exports every metric the dashboard and the rules select', () => {
    const series = declaredSeries();
    const missing = expressions.flatMap(([where, expr]) =>
      readPromql(expr)
        .selectors.filter((s) => !FROM_PROMETHEUS.has(s.metric) && !series.has(s.metric))
        .map((s) => `${where}: ${s.metric}`),
    );
    expect(missing).toEqual([]);
  });

  it('the readiness gauge says ready, and the expiring token is counted for its client', () => {
    expect(families.get('secure_proxy_ready')?.samples.has('secure_proxy_ready')).toBe(true);
    expect(families.get('secure_proxy_tokens_expiring_soon')?.samples.get('secure_proxy_tokens_expiring_soon')).toEqual(new Set(['client']));
  });

  it('every label matched or grouped by is on the samples of the metric it is used with', () => {
    const series = declaredSeries();
    const labelsOf = (metric: string): Set<string> | undefined => series.get(metric)?.samples.get(metric);
    const wrong: string[] = [];
    for (const [where, expr] of expressions) {
      const reading = readPromql(expr);
      for (const selector of reading.selectors.filter((s) => !FROM_PROMETHEUS.has(s.metric))) {
        const present = labelsOf(selector.metric);
        if (present === undefined) wrong.push(`${where}: ${selector.metric} has no samples to check its labels against`);
        else
          for (const label of selector.labels)
            if (!TARGET_LABELS.has(label) && !present.has(label)) wrong.push(`${where}: ${selector.metric} has no label ${label}`);
      }
      for (const grouping of reading.groupings) {
        for (const label of grouping.labels.filter((l) => !TARGET_LABELS.has(l))) {
          if (!grouping.metrics.some((metric) => labelsOf(metric)?.has(label)))
            wrong.push(`${where}: none of ${grouping.metrics.join(', ')} has label ${label}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
