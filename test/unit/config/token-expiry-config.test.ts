/**
 * `tokenExpiryWarningSeconds`: its default, 0 to turn the warnings off, and messages that
 * name the field and say what was expected.
 */
import { buildConfig } from '../../../proxy/src/config/load';
import { ConfigError } from '../../../proxy/src/config/errors';

const minimal = (extra: Record<string, unknown> = {}) => ({
  vault: { address: 'http://127.0.0.1:8200', auth: { method: 'token', token: 'vault-token' } },
  services: {},
  ...extra,
});

describe('tokenExpiryWarningSeconds config', () => {
  it('defaults to 7 days and accepts 0 (warnings off)', () => {
    expect(buildConfig(minimal(), {}, 'test').tokenExpiryWarningSeconds).toBe(604800);
    expect(buildConfig(minimal({ tokenExpiryWarningSeconds: 0 }), {}, 'test').tokenExpiryWarningSeconds).toBe(0);
  });

  it.each([
    [-1, 'tokenExpiryWarningSeconds: must be 0 (no warnings) or more'],
    [1.5, 'tokenExpiryWarningSeconds: must be a whole number of seconds'],
    ['7d', 'tokenExpiryWarningSeconds: must be a number of seconds'],
    [31536001, 'tokenExpiryWarningSeconds: must be at most 31536000 seconds (one year)'],
  ])('rejects %j', (value, message) => {
    const build = () => buildConfig(minimal({ tokenExpiryWarningSeconds: value }), {}, 'test');
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(`Invalid configuration (test):\n  - ${message}`);
  });
});
