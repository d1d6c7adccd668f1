/**
 * String literals in code: JavaScript (Code node `jsCode`, the legacy Function nodes, the
 * inside of n8n `{{ … }}` expressions) and Python (`pythonCode`). A secret pasted into code
 * is always a literal; a reference (`$credentials.token`, `$env.KEY`, `process.env.KEY`)
 * never is, so reading literals alone keeps references from raising alarms.
 *
 * This is a tokenizer, not a parser: it knows comments, the quote kinds and template
 * interpolation, which is all it takes to tell a literal from the code around it. Each
 * literal comes with the name it is assigned to, when the code says so (`apiKey = '…'`,
 * `'x-api-key': '…'`, `headers['x-api-key'] = '…'`, `.set('Authorization', '…')`), because a
 * key-like name is what makes an unformatted random string a secret.
 */

export type CodeLanguage = 'javascript' | 'python';

export interface Literal {
  value: string;
  /** The identifier or key the literal is assigned to or paired with, if any. */
  name: string | null;
}

interface RawLiteral {
  value: string;
  start: number;
  end: number;
}

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', '0': '\0' };

/** Reads a quoted literal whose opening quote (1 or 3 characters) starts at `start`. */
function readQuoted(source: string, start: number, quote: string): { value: string; end: number } {
  let value = '';
  let i = start + quote.length;
  while (i < source.length) {
    if (source.startsWith(quote, i)) return { value, end: i + quote.length };
    const ch = source[i];
    if (ch === '\\' && i + 1 < source.length) {
      const next = source[i + 1];
      if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(source.slice(i + 2, i + 6))) {
        value += String.fromCharCode(parseInt(source.slice(i + 2, i + 6), 16));
        i += 6;
        continue;
      }
      value += SIMPLE_ESCAPES[next] ?? next;
      i += 2;
      continue;
    }
    // A single-quoted literal ends at a line break (unterminated): stop there rather than swallow code.
    if (quote.length === 1 && quote !== '`' && ch === '\n') return { value, end: i };
    value += ch;
    i += 1;
  }
  return { value, end: i };
}

/**
 * A JavaScript template literal: its static parts as one literal each; the code inside
 * `${ … }` is tokenized too (it may hold literals of its own).
 */
function readTemplate(source: string, start: number, out: RawLiteral[]): number {
  let i = start + 1;
  let part = '';
  let partStart = start;
  while (i < source.length) {
    const ch = source[i];
    if (ch === '`') {
      out.push({ value: part, start: partStart, end: i + 1 });
      return i + 1;
    }
    if (ch === '\\' && i + 1 < source.length) {
      part += SIMPLE_ESCAPES[source[i + 1]] ?? source[i + 1];
      i += 2;
      continue;
    }
    if (ch === '$' && source[i + 1] === '{') {
      out.push({ value: part, start: partStart, end: i });
      let depth = 1;
      let j = i + 2;
      const inner = j;
      while (j < source.length && depth > 0) {
        if (source[j] === '{') depth += 1;
        else if (source[j] === '}') depth -= 1;
        j += 1;
      }
      for (const literal of rawLiterals(source.slice(inner, j - 1), 'javascript')) {
        out.push({ ...literal, start: literal.start + inner, end: literal.end + inner });
      }
      part = '';
      partStart = j;
      i = j;
      continue;
    }
    part += ch;
    i += 1;
  }
  out.push({ value: part, start: partStart, end: i });
  return i;
}

function rawLiterals(source: string, language: CodeLanguage): RawLiteral[] {
  const out: RawLiteral[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (language === 'javascript' && ch === '/' && source[i + 1] === '/') {
      i = lineEnd(source, i);
    } else if (language === 'javascript' && ch === '/' && source[i + 1] === '*') {
      const close = source.indexOf('*/', i + 2);
      i = close === -1 ? source.length : close + 2;
    } else if (language === 'python' && ch === '#') {
      i = lineEnd(source, i);
    } else if (language === 'javascript' && ch === '`') {
      i = readTemplate(source, i, out);
    } else if (ch === '"' || ch === "'") {
      const triple = language === 'python' && source.startsWith(ch.repeat(3), i) ? ch.repeat(3) : ch;
      const { value, end } = readQuoted(source, i, triple);
      out.push({ value, start: i, end });
      i = end;
    } else {
      i += 1;
    }
  }
  return out;
}

function lineEnd(source: string, from: number): number {
  const newline = source.indexOf('\n', from);
  return newline === -1 ? source.length : newline;
}

/** `apiKey = `, `apiKey: `, `api_key=`, `"x-api-key": ` — the name a literal right after it is given. */
const ASSIGNED_TO_IDENTIFIER = /([A-Za-z_$][\w$-]*)\s*(?::|(?<![=!<>])=(?!=))\s*$/;
/** Between a key literal and its value: `': '`, `'] = '`, `', '` (a call like `.set(name, value)`). */
const KEY_VALUE_GAP = /^\s*\]?\s*(?::|(?<![=!<>])=(?!=)|,)\s*$/;

/** Every string literal of `source`, with the name it is assigned to where the code shows one. */
export function stringLiterals(source: string, language: CodeLanguage): Literal[] {
  const raw = rawLiterals(source, language);
  return raw.map((literal, index) => {
    const previous = index > 0 ? raw[index - 1] : null;
    // A key literal opens an entry (`{ 'k': …`, `, 'k': …`, `['k'] = …`, `('k', …`); in `c ? 'a' : 'b'` 'a' is no key.
    const opensEntry = previous !== null && /(?:^|[{,[(])\s*$/.test(source.slice(Math.max(0, previous.start - 40), previous.start));
    if (previous !== null && opensEntry && KEY_VALUE_GAP.test(source.slice(previous.end, literal.start))) {
      return { value: literal.value, name: previous.value };
    }
    const before = source.slice(Math.max(0, literal.start - 80), literal.start);
    // f"…", r'…' and b'…' prefixes in Python sit right before the quote.
    const trimmed = language === 'python' ? before.replace(/[rbfuRBFU]{1,2}$/, '') : before;
    const match = ASSIGNED_TO_IDENTIFIER.exec(trimmed);
    return { value: literal.value, name: match === null ? null : match[1] };
  });
}

/** The static text and the literals of an n8n expression (a parameter value starting with `=`). */
export interface ExpressionParts {
  /** Text outside `{{ … }}`, in order. */
  staticText: string[];
  /** String literals inside `{{ … }}`, in order. */
  literals: Literal[];
  /** Literals joined with `+` (`'Bearer ' + 'sk_live_' + '…'`), each run as one string. */
  concatenations: string[];
}

/** Runs of two or more literals with nothing but `+` between them, joined. */
function concatenations(code: string): string[] {
  const raw = rawLiterals(code, 'javascript');
  const runs: string[] = [];
  let run: string[] = [];
  raw.forEach((literal, index) => {
    const previous = raw[index - 1];
    if (previous !== undefined && /^\s*\+\s*$/.test(code.slice(previous.end, literal.start))) run.push(literal.value);
    else {
      if (run.length > 1) runs.push(run.join(''));
      run = [literal.value];
    }
  });
  if (run.length > 1) runs.push(run.join(''));
  return runs;
}

/** Splits an n8n expression (without its leading `=`) into static text and the literals of its code. */
export function expressionParts(expression: string): ExpressionParts {
  const staticText: string[] = [];
  const literals: Literal[] = [];
  const joined: string[] = [];
  let i = 0;
  while (i < expression.length) {
    const open = expression.indexOf('{{', i);
    if (open === -1) {
      staticText.push(expression.slice(i));
      break;
    }
    if (open > i) staticText.push(expression.slice(i, open));
    const close = expression.indexOf('}}', open + 2);
    const code = expression.slice(open + 2, close === -1 ? expression.length : close);
    literals.push(...stringLiterals(code, 'javascript'));
    joined.push(...concatenations(code));
    i = close === -1 ? expression.length : close + 2;
  }
  return { staticText: staticText.filter((text) => text.trim() !== ''), literals, concatenations: joined };
}

/**
 * The text an expression stands for when its `{{ … }}` parts are only literals joined with
 * `+`: `={{ 'Bearer ' + 'abc' }}` is `Bearer abc`. A `{{ … }}` that reads data stays as
 * `dynamic` (so the caller can tell the value is not fixed). A plain value is returned as is.
 */
export function flattenExpression(value: string, dynamic: string): string {
  if (!value.startsWith('=')) return value;
  return value.slice(1).replace(/\{\{([\s\S]*?)\}\}/g, (_whole, code: string) => {
    const literals = rawLiterals(code, 'javascript');
    if (literals.length === 0) return dynamic;
    const gaps = [code.slice(0, literals[0].start), ...literals.slice(1).map((l, i) => code.slice(literals[i].end, l.start)), code.slice(literals.at(-1)!.end)];
    const onlyLiterals = gaps.every((gap, i) => (i === 0 || i === gaps.length - 1 ? /^\s*$/.test(gap) : /^\s*\+\s*$/.test(gap)));
    return onlyLiterals ? literals.map((l) => l.value).join('') : dynamic;
  });
}
