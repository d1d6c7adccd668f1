/**
 * What the Kubernetes manifests promise beyond their schema (scripts/validate-deploy.mjs
 * checks that): a restrictive pod, probes on the ops listener the config opens, a config the
 * proxy loads, Services and the PodDisruptionBudget selecting the proxy's pods, and n8n's
 * egress limited to DNS and the proxy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { buildConfig, parseConfigText } from '../../../proxy/src/config/load';

const BASE = join(__dirname, '../../../deploy/kubernetes/base');
const OVERLAY = join(__dirname, '../../../deploy/kubernetes/overlays/example');

function objects(file: string): any[] {
  return parseAllDocuments(readFileSync(join(BASE, file), 'utf8')).map((doc) => doc.toJS());
}

const [deployment] = objects('deployment.yaml');
const pod = deployment.spec.template.spec;
const [container] = pod.containers;
const podLabels = deployment.spec.template.metadata.labels;
const portOf = (name: string): number => container.ports.find((port: any) => port.name === name).containerPort;

describe.each([
  ['base', join(BASE, 'proxy.yaml')],
  ['example overlay', join(OVERLAY, 'proxy.yaml')],
])('the %s config', (_name, file) => {
  const config = buildConfig(parseConfigText(readFileSync(file, 'utf8'), file), {});

  it('loads in the proxy and listens where the container ports and probes point', () => {
    expect(config.listen).toEqual(expect.objectContaining({ host: '0.0.0.0', port: portOf('http') }));
    expect(config.ops).toEqual({ host: '0.0.0.0', port: portOf('ops') });
  });

  it('logs in with the projected service account token and stops within the grace period', () => {
    const mount = container.volumeMounts.find((m: any) => m.name === 'vault-token').mountPath;
    const projected = pod.volumes.find((v: any) => v.name === 'vault-token').projected.sources[0].serviceAccountToken;
    expect(config.vault.auth).toEqual(expect.objectContaining({ method: 'kubernetes', jwtPath: `${mount}/${projected.path}` }));
    expect(projected.audience).toBe('vault');
    const preStopMs = container.lifecycle.preStop.sleep.seconds * 1000;
    expect(preStopMs + config.listen.shutdownTimeoutMs).toBeLessThan(pod.terminationGracePeriodSeconds * 1000);
  });
});

describe('the Deployment', () => {
  it('runs two or more replicas and never takes one away before its replacement is ready', () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it('runs as the image user, non-root, read-only, without capabilities, under the runtime seccomp profile', () => {
    const dockerfile = readFileSync(join(__dirname, '../../../deploy/docker/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(new RegExp(`^USER ${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}$`, 'm'));
    expect(pod.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }));
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('probes liveness on /healthz and readiness on /readyz of the ops listener, and sets requests and a memory limit', () => {
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'ops' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'ops' });
    expect(container.resources.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
    expect(container.resources.limits.memory).toEqual(expect.any(String));
  });

  it('mounts the generated ConfigMap where the image reads its config', () => {
    const kustomization = parseAllDocuments(readFileSync(join(BASE, 'kustomization.yaml'), 'utf8'))[0].toJS();
    expect(kustomization.configMapGenerator).toEqual([{ name: 'secure-proxy', files: ['proxy.yaml'] }]);
    expect(pod.volumes.find((v: any) => v.name === 'config').configMap.name).toBe('secure-proxy');
    expect(container.volumeMounts.find((m: any) => m.name === 'config').mountPath).toBe('/etc/secure-proxy');
    expect(container.env).toContainEqual({ name: 'SECURE_PROXY_CONFIG', value: '/etc/secure-proxy/proxy.yaml' });
  });
});

describe('Services and the PodDisruptionBudget', () => {
  it('select the proxy pods; n8n gets the main port only, Prometheus the ops port', () => {
    const [main, ops] = objects('service.yaml');
    const [pdb] = objects('poddisruptionbudget.yaml');
    for (const selector of [main.spec.selector, ops.spec.selector, pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels]) {
      expect(podLabels).toEqual(expect.objectContaining(selector));
    }
    expect(main.spec.ports.map((p: any) => p.targetPort)).toEqual(['http']);
    expect(ops.spec.ports.map((p: any) => p.targetPort)).toEqual(['ops']);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
  });
});

describe('NetworkPolicies', () => {
  const dns = { port: 53 };

  it('let n8n pods reach nothing but DNS and the proxy main port', () => {
    const [policy] = objects('networkpolicy-n8n-egress.yaml');
    expect(policy.spec.policyTypes).toEqual(['Egress']);
    const [toDns, toProxy] = policy.spec.egress;
    expect(toDns.ports.map((p: any) => p.port)).toEqual([dns.port, dns.port]);
    expect(toProxy.to).toEqual([{ podSelector: { matchLabels: podLabels } }]);
    expect(toProxy.ports).toEqual([{ port: portOf('http'), protocol: 'TCP' }]);
    expect(policy.spec.egress).toHaveLength(2);
  });

  it('let the proxy take n8n on the main port and Prometheus on the ops port, and reach DNS, Vault and public HTTPS only', () => {
    const [policy] = objects('networkpolicy-proxy.yaml');
    expect(policy.spec.podSelector.matchLabels).toEqual(podLabels);
    expect(policy.spec.ingress.map((rule: any) => rule.ports[0].port)).toEqual([portOf('http'), portOf('ops')]);
    const [, vault, upstreams] = policy.spec.egress;
    expect(vault.ports).toEqual([{ port: 8200, protocol: 'TCP' }]);
    expect(upstreams.to[0].ipBlock.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']));
    expect(upstreams.ports).toEqual([{ port: 443, protocol: 'TCP' }]);
  });
});
