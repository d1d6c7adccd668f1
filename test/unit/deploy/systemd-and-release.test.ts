/**
 * The systemd unit keeps its sandbox and its reload (systemd-analyze verify, run by
 * scripts/validate-deploy.mjs, checks the syntax, not these choices), and the release check
 * refuses a tag that does not match both packages and the changelog.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '../../..');

describe('deploy/systemd/secure-proxy.service', () => {
  const directives = readFileSync(join(ROOT, 'deploy/systemd/secure-proxy.service'), 'utf8')
    .split('\n')
    .filter((line) => /^\w+=/.test(line))
    .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]);
  const value = (name: string) => directives.filter(([key]) => key === name).map(([, v]) => v);

  it('runs serve with the config path, reloads with SIGHUP, and reads Vault credentials from an environment file', () => {
    expect(value('ExecStart')).toEqual(['/usr/bin/env secure-proxy serve --config /etc/secure-proxy/proxy.yaml']);
    expect(value('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(value('EnvironmentFile')).toEqual(['/etc/secure-proxy/vault.env']);
    expect(value('RestartPreventExitStatus')).toEqual(['2']);
  });

  it('sandboxes the process', () => {
    for (const [name, expected] of [
      ['DynamicUser', 'yes'],
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['PrivateDevices', 'yes'],
      ['CapabilityBoundingSet', ''],
      ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX'],
      ['SystemCallArchitectures', 'native'],
      ['LimitCORE', '0'],
    ]) {
      expect([name, value(name)]).toEqual([name, [expected]]);
    }
    expect(value('SystemCallFilter')).toEqual(['@system-service', expect.stringMatching(/^~@privileged /)]);
  });
});

describe('scripts/release-check.mjs', () => {
  const check = (tag: string) => spawnSync(process.execPath, [join(ROOT, 'scripts/release-check.mjs'), tag], { encoding: 'utf8' });
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  it('accepts the tag of the current version, which both packages and the changelog carry', () => {
    expect(check(`v${version}`)).toEqual(expect.objectContaining({ status: 0 }));
  });

  it('refuses another version and a malformed tag, naming what does not match', () => {
    const other = check('v99.0.0');
    expect(other.status).toBe(1);
    expect(other.stderr).toContain('package.json (n8n-nodes-secure-proxy) is at');
    expect(other.stderr).toContain('proxy/package.json (n8n-secure-proxy) is at');
    expect(other.stderr).toContain('CHANGELOG.md has no "## [99.0.0]" section');
    expect(check('latest')).toEqual(expect.objectContaining({ status: 1, stderr: expect.stringContaining('must look like v1.2.3') }));
  });
});
