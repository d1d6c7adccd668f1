/**
 * The `authThrottle` config block: its defaults, and messages that name the field and say
 * what was expected.
 */
import { buildConfig } from '../../../proxy/src/config/load';
import { ConfigError } from '../../../proxy/src/config/errors';

function minimal(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    vault: { address: 'http://127.0.0.1:8200', auth: { method: 'token', token: 'vault-token' } },
    clients: {},
    services: {},
    ...extra,
  };
}

describe('authThrottle config', () => {
  it('defaults to 20 failures per 60 s when absent', () => {
    expect(buildConfig(minimal(), {}, 'test').authThrottle).toEqual({ maxFailures: 20, windowSeconds: 60 });
  });

  it('fills the field left out and accepts 0 to turn the throttle off', () => {
    expect(buildConfig(minimal({ authThrottle: { maxFailures: 0 } }), {}, 'test').authThrottle).toEqual({ maxFailures: 0, windowSeconds: 60 });
    expect(buildConfig(minimal({ authThrottle: { windowSeconds: 5 } }), {}, 'test').authThrottle).toEqual({ maxFailures: 20, windowSeconds: 5 });
  });

  it.each([
    [{ maxFailures: -1 }, 'authThrottle.maxFailures: must be 0 (throttle off) or more'],
    [{ maxFailures: 2.5 }, 'authThrottle.maxFailures: must be a whole number'],
    [{ maxFailures: '20' }, 'authThrottle.maxFailures: must be a number'],
    [{ windowSeconds: 0 }, 'authThrottle.windowSeconds: must be at least 1 second'],
    [{ windowSeconds: 1.5 }, 'authThrottle.windowSeconds: must be a whole number of seconds'],
    [{ windowSeconds: 86401 }, 'authThrottle.windowSeconds: must be at most 86400 seconds (one day)'],
    [{ maxFailure: 3 }, 'authThrottle: unknown field "maxFailure"'],
  ])('rejects %j', (authThrottle, message) => {
    const build = () => buildConfig(minimal({ authThrottle }), {}, 'test');
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(`Invalid configuration (test):\n  - ${message}`);
  });
});
