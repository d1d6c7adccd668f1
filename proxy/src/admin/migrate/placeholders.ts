/**
 * Values that look like a secret's slot but hold none: placeholders from documentation and
 * templates (`YOUR_API_KEY`, `<token>`, `xxx`, `changeme`, `{{…}}`), AWS's published example
 * keys, and strings too uniform to be random. A finding on one of them is a false alarm, and
 * false alarms teach people to ignore the scanner.
 */

/** Words that only ever appear in a value someone still has to fill in. */
const PLACEHOLDER_WORDS = new RegExp(
  // Whole words only (letters and digits around a word end it), so a random key that happens
  // to contain "todo" is still a key.
  '(?<![a-z0-9])(?:' +
    [
      'your[_-]?(?:own[_-]?)?(?:api[_-]?)?(?:key|token|secret|password|pass)',
      'change[_-]?me',
      'replace[_-]?(?:me|with|this)',
      'placeholder',
      'example',
      'dummy',
      'redacted',
      'insert[_-]?(?:your|key|token|here)',
      '(?:api[_-]?)?(?:key|token|secret|password)[_-]?here',
      'fill[_-]?(?:me|in)',
      'not[_-]?a[_-]?real',
      'fake[_-]?(?:key|token|secret)',
      'todo',
      'fixme',
      'sample',
    ].join('|') +
    ')',
  'i',
);

/** Whole values that are template syntax or a reference rather than a value. */
const TEMPLATE_SHAPES = [
  /\{\{[\s\S]*\}\}/, // n8n, mustache and Jinja templates
  /\$\{[^}]*\}/, // shell and JS template interpolation
  /^<[^<>]+>$/, // <token>
  /^\[[^[\]]+\]$/, // [API_KEY]
  /^%[A-Za-z0-9_]+%$/, // %API_KEY%
  /^\$[A-Za-z_][A-Za-z0-9_]*$/, // $API_KEY
  /^(?:process\.env|\$env|\$vars|\$credentials|\$secrets)\b/, // references written out as text
  /EXAMPLE/, // AWS's documented keys (AKIAIOSFODNN7EXAMPLE) and their imitators
];

/** A run of the same character this long is filler (`xxxxxxxx`, `********`, `00000000`). */
const FILLER_RUN = /(.)\1{5,}/;
/** `xxxx` / `XXXX` anywhere: the usual way to blank out part of a key in docs. */
const BLANKED = /x{4,}|X{4,}|\*{3,}|•{3,}|\.{4,}/;

/** Whether `value` is a placeholder or filler rather than a real credential. */
export function isPlaceholder(value: string): boolean {
  const trimmed = value.trim();
  if (trimmed === '') return true;
  if (TEMPLATE_SHAPES.some((shape) => shape.test(trimmed))) return true;
  if (PLACEHOLDER_WORDS.test(trimmed)) return true;
  if (FILLER_RUN.test(trimmed) || BLANKED.test(trimmed)) return true;
  return false;
}
