/** The bootstrap's option checks: every problem named at once, before Vault is contacted. */
import {
  BOOTSTRAP_DEFAULTS,
  BootstrapUsageError,
  checkOptions,
  durationSeconds,
  type BootstrapOptions,
} from '../../../proxy/src/admin/vault-bootstrap/options';

const base: BootstrapOptions = { ...BOOTSTRAP_DEFAULTS, authMount: 'approle', namespace: undefined, kubernetesHost: undefined };

describe('vault bootstrap options', () => {
  it('accepts the defaults', () => {
    expect(checkOptions({ ...base })).toEqual(base);
  });

  it.each([
    ['1h', 3600],
    ['720h', 2592000],
    ['1h30m', 5400],
    ['90s', 90],
    ['45', 45],
    ['30d', 2592000],
  ])('reads the Vault duration %s as %i seconds', (text, seconds) => {
    expect(durationSeconds(text)).toBe(seconds);
  });

  it.each<[Partial<BootstrapOptions>, string]>([
    [{ kvMount: 'secret/' }, '--kv-mount must be a Vault path'],
    [{ servicesPath: '../up' }, '--services-path must be a Vault path'],
    [{ role: 'has space' }, '--role must be'],
    [{ policyPrefix: 'Team-' }, '--policy-prefix must be lower-case'],
    [{ tokenTtl: '1 hour' }, '--token-ttl must be a duration'],
    [{ secretIdTtl: '1d12h' }, '--secret-id-ttl must be a duration'],
    [{ tokenTtl: '5h', tokenMaxTtl: '4h' }, '--token-ttl (5h) must not be longer than --token-max-ttl (4h)'],
    [{ auth: 'kubernetes', authMount: 'kubernetes' }, '--namespace is required with --auth kubernetes'],
    [{ auth: 'kubernetes', authMount: 'kubernetes', namespace: 'a', kubernetesHost: 'kubernetes.default.svc' }, '--kubernetes-host must be the API server URL'],
  ])('refuses %j', (change, message) => {
    expect(() => checkOptions({ ...base, ...change })).toThrow(BootstrapUsageError);
    expect(() => checkOptions({ ...base, ...change })).toThrow(message);
  });

  it('names every problem in one error', () => {
    expect(() => checkOptions({ ...base, kvMount: '/x', role: '' })).toThrow(/--kv-mount .*; --role /);
  });
});
