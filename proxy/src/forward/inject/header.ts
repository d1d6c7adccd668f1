/**
 * `inject: { type: header, name, template }` → `<name>: <template with {{field}} filled in>`.
 * The template is split into literal and field parts once, at startup.
 */
import type { InjectConfig } from '../../config/schema';
import { freezeInjection, INVALID_HEADER_VALUE, requireField, uniqueValues, type InjectionType } from './types';

/** `{{field}}` placeholders in a template. Here, not in the config schema: the forwarding modules load no zod. */
const TEMPLATE_PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

type HeaderConfig = Extract<InjectConfig, { type: 'header' }>;

/** A literal piece of the template, or the name of a secret field. */
export type TemplatePart = { literal: string } | { field: string };

/** Splits `"Token {{ token }}"` into `[{literal:'Token '}, {field:'token'}]`; throws on a literal that cannot be in a header. */
export function compileTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of template.matchAll(TEMPLATE_PLACEHOLDER)) {
    if (match.index > last) parts.push({ literal: template.slice(last, match.index) });
    parts.push({ field: match[1] });
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push({ literal: template.slice(last) });
  for (const part of parts) {
    if ('literal' in part && INVALID_HEADER_VALUE.test(part.literal)) {
      throw new Error(`inject.template contains characters that are not allowed in an HTTP header value`);
    }
  }
  return parts;
}

export const header: InjectionType<HeaderConfig> = {
  compile(config, secretPath) {
    const name = config.name.toLowerCase();
    const parts = compileTemplate(config.template);
    return (secret) => {
      let value = '';
      const used: string[] = [];
      for (const part of parts) {
        if ('literal' in part) {
          value += part.literal;
        } else {
          const fieldValue = requireField(secret, part.field, secretPath, 'header');
          used.push(fieldValue);
          value += fieldValue;
        }
      }
      return freezeInjection({ headers: [[name, value]], query: null, queryString: null, secretValues: uniqueValues([...used, value]) });
    };
  },
  redact(config) {
    const fields = compileTemplate(config.template).flatMap((p) => ('field' in p ? [`'${p.field}'`] : []));
    return `header '${config.name}' from field${fields.length === 1 ? '' : 's'} ${[...new Set(fields)].join(', ')}`;
  },
};
