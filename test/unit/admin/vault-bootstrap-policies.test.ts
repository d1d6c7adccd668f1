/** renderPolicy: the shipped policy files moved to another mount, KV version and folders. */
import { FILE_PLACE, POLICIES, readPolicyFile, renderPolicy } from '../../../proxy/src/admin/vault-bootstrap/policies';

const pathsOf = (text: string): string[] => [...text.matchAll(/^\s*path "([^"]+)"/gm)].map((m) => m[1]);

describe('renderPolicy', () => {
  it.each(Object.values(POLICIES))('leaves %s as it is for the place the files are written for', (name) => {
    expect(renderPolicy(readPolicyFile(name), FILE_PLACE)).toBe(readPolicyFile(name));
  });

  it('moves KV v2 paths to another mount and folders, and the mount detection path with them', () => {
    const place = { kvMount: 'team/kv', kvVersion: 2 as const, servicesPath: 'automation/apis', recordsPath: 'automation/proxy-clients' };
    expect(pathsOf(renderPolicy(readPolicyFile(POLICIES.proxy), place))).toEqual(['team/kv/data/automation/apis/*', 'sys/internal/ui/mounts/team/kv']);
    expect(pathsOf(renderPolicy(readPolicyFile(POLICIES.tokenRecords), place))).toEqual([
      'team/kv/metadata/automation/proxy-clients/',
      'team/kv/data/automation/proxy-clients/*',
    ]);
  });

  it('drops data/ and metadata/ on KV v1, where reading and listing use the plain path', () => {
    const place = { ...FILE_PLACE, kvMount: 'legacy', kvVersion: 1 as const };
    expect(pathsOf(renderPolicy(readPolicyFile(POLICIES.admin), place))).toEqual(['legacy/secure-proxy/clients/*', 'legacy/secure-proxy/clients/*']);
  });

  it('never moves token self-service paths', () => {
    const place = { ...FILE_PLACE, kvMount: 'other' };
    expect(pathsOf(renderPolicy(readPolicyFile(POLICIES.tokenSelf), place))).toEqual(['auth/token/lookup-self', 'auth/token/renew-self']);
  });

  it('refuses a policy whose paths it does not know how to move', () => {
    expect(() => renderPolicy('path "secret/config" {\n  capabilities = ["read"]\n}\n', FILE_PLACE)).toThrow('without data/ or metadata/');
    expect(() => renderPolicy('path "secret/data/elsewhere/*" {\n  capabilities = ["read"]\n}\n', FILE_PLACE)).toThrow('unexpected folder');
  });
});
