/** `inject: { type: bearer, field }` → `Authorization: Bearer <secret[field]>`. */
import type { InjectConfig } from '../../config/schema';
import { freezeInjection, requireField, type InjectionType } from './types';

type BearerConfig = Extract<InjectConfig, { type: 'bearer' }>;

export const bearer: InjectionType<BearerConfig> = {
  compile(config, secretPath) {
    const { field } = config;
    return (secret) => {
      const token = requireField(secret, field, secretPath, 'header');
      return freezeInjection({ headers: [['authorization', `Bearer ${token}`]], query: null, queryString: null, secretValues: [token] });
    };
  },
  redact: (config) => `bearer token from field '${config.field}'`,
};
