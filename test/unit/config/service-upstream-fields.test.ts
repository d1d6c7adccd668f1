/**
 * The per-service upstream connection fields: `allowPrivateAddresses` and `caFile`. A CA
 * bundle that cannot be used stops the config from loading, with the field and path named,
 * every bad field reported together.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCaBundle } from '../../../proxy/src/config/ca-bundle';
import { buildConfig } from '../../../proxy/src/config/load';
import { ConfigError } from '../../../proxy/src/config/errors';
import { createTestCa, writePemFiles } from '../../support/certs';

const HASH = `sha256:${'b'.repeat(64)}`;

function configWith(services: Record<string, Record<string, unknown>>): Record<string, unknown> {
  const full: Record<string, unknown> = {};
  for (const [name, extra] of Object.entries(services)) {
    full[name] = { target: 'https://api.example.com/v1', secret: `svc/${name}`, inject: { type: 'bearer' }, ...extra };
  }
  return {
    vault: { address: 'http://127.0.0.1:8200', auth: { method: 'token', token: 'unused' } },
    clients: { c: { tokenHashes: [HASH], services: Object.keys(services) } },
    services: full,
  };
}

function issuesOf(raw: unknown): string[] {
  try {
    buildConfig(raw, {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('service upstream connection fields', () => {
  let dir: string;
  let files: Record<'ca.pem' | 'two.pem' | 'garbage.pem' | 'broken.pem' | 'key-only.pem', string>;
  let caPem: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sp-ca-bundle-'));
    const ca = await createTestCa();
    const other = await createTestCa('second test CA');
    caPem = ca.caPem;
    const leaf = await ca.issue(['api.example.com']);
    // A block with the right markers and a body that is not a certificate.
    const broken = `${ca.caPem}-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n`;
    files = writePemFiles(dir, {
      'ca.pem': ca.caPem,
      'two.pem': `${ca.caPem}\n${other.caPem}`,
      'garbage.pem': 'this is not PEM\n',
      'broken.pem': broken,
      'key-only.pem': leaf.keyPem,
    });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves both fields absent by default (absent allowPrivateAddresses means false)', () => {
    const service = buildConfig(configWith({ api: {} }), {}).services.api;
    expect(service.allowPrivateAddresses).toBeUndefined();
    expect(service.caFile).toBeUndefined();
  });

  it('accepts allowPrivateAddresses and a readable CA bundle of one or more certificates', () => {
    const config = buildConfig(configWith({ one: { allowPrivateAddresses: true, caFile: files['ca.pem'] }, two: { caFile: files['two.pem'] } }), {});
    expect(config.services.one).toMatchObject({ allowPrivateAddresses: true, caFile: files['ca.pem'] });
    expect(readCaBundle(files['two.pem'])).toContain(caPem.trim());
  });

  it('reports every unusable caFile and a non-boolean allowPrivateAddresses, each naming its field and path', () => {
    const missing = join(dir, 'missing.pem');
    const issues = issuesOf(
      configWith({
        missing: { caFile: missing },
        garbage: { caFile: files['garbage.pem'] },
        broken: { caFile: files['broken.pem'] },
        keyonly: { caFile: files['key-only.pem'] },
        directory: { caFile: dir },
        plain: { target: 'http://127.0.0.1:9999', caFile: files['ca.pem'] },
        flag: { allowPrivateAddresses: 'yes' },
      }),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        `services.missing.caFile: cannot use CA file "${missing}": the file cannot be read (ENOENT)`,
        `services.garbage.caFile: cannot use CA file "${files['garbage.pem']}": expected PEM certificates ("-----BEGIN CERTIFICATE-----"), found none`,
        `services.broken.caFile: cannot use CA file "${files['broken.pem']}": certificate 2 of 2 is not a valid X.509 certificate`,
        `services.keyonly.caFile: cannot use CA file "${files['key-only.pem']}": expected PEM certificates ("-----BEGIN CERTIFICATE-----"), found none`,
        `services.directory.caFile: cannot use CA file "${dir}": the file cannot be read (EISDIR)`,
        'services.plain.caFile: only applies to an https:// target',
        'services.flag.allowPrivateAddresses: must be true or false',
      ]),
    );
    expect(issues).toHaveLength(7);
  });

  it('never puts file content into an error', () => {
    const secretish = join(dir, 'secretish.pem');
    writeFileSync(secretish, 'PRIVATE-CONTENT-THAT-MUST-NOT-SHOW\n');
    const issues = issuesOf(configWith({ api: { caFile: secretish } }));
    expect(issues.join('\n')).not.toContain('PRIVATE-CONTENT-THAT-MUST-NOT-SHOW');
  });
});
