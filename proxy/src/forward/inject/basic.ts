/** `inject: { type: basic, usernameField, passwordField }` → `Authorization: Basic base64(user:pass)` (RFC 7617, UTF-8). */
import { ProxyError } from '../../contract/proxy-error';
import type { InjectConfig } from '../../config/schema';
import { freezeInjection, requireField, type InjectionType } from './types';

type BasicConfig = Extract<InjectConfig, { type: 'basic' }>;

export const basic: InjectionType<BasicConfig> = {
  compile(config, secretPath) {
    const { usernameField, passwordField } = config;
    return (secret) => {
      // Both travel base64-encoded, so any character but controls is fine.
      const username = requireField(secret, usernameField, secretPath, 'encoded');
      const password = requireField(secret, passwordField, secretPath, 'encoded');
      if (username.includes(':')) {
        // RFC 7617: the user-id cannot contain a colon; the server would split it wrongly.
        throw new ProxyError(
          'SECRET_FIELD_MISSING',
          `Secret '${secretPath}' field '${usernameField}' contains ':', which Basic auth cannot carry in a username.`,
        );
      }
      const credentials = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
      return freezeInjection({
        headers: [['authorization', `Basic ${credentials}`]],
        query: null,
        queryString: null,
        // The username is not secret (and scrubbing it would mangle bodies that name the user).
        secretValues: [password, credentials],
      });
    };
  },
  redact: (config) => `basic auth from fields '${config.usernameField}' and '${config.passwordField}'`,
};
