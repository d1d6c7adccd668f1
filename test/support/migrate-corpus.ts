/**
 * The migrator's test corpus (test/fixtures/migrate/corpus) with its secrets filled in.
 *
 * The fixture files hold realistic exported workflows with markers where secrets go:
 * `@@stripe@@`, `@@github:2@@` (a second, different GitHub token), and `@@!cursor@@` for a
 * decoy: a random value that is NOT a secret (a pagination cursor, a commit SHA, a
 * publishable key) and must not be reported. Every run generates fresh, format-valid but fake
 * values from pieces, so the repository never holds a string a secret scanner (or a push
 * protection) would flag, and every value is a canary: it must never appear in any output.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

export const CORPUS_DIR = join(__dirname, '../fixtures/migrate/corpus');

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const HEX = '0123456789abcdef';
const B64 = `${ALNUM}+/`;
const B64URL = `${ALNUM}_-`;

function pick(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += alphabet[randomInt(alphabet.length)];
  return out;
}

const b64url = (text: string) => Buffer.from(text).toString('base64url');

/** Generators of fake values by marker kind; the pieces keep whole tokens out of the source. */
const GENERATORS: Record<string, () => string> = {
  stripe: () => ['sk', 'live', pick(ALNUM, 24)].join('_'),
  github: () => ['gh', 'p_', pick(ALNUM, 36)].join(''),
  'github-pat': () => ['github', 'pat', pick(ALNUM, 22), pick(ALNUM, 59)].join('_'),
  slack: () => ['xo', 'xb-', pick('0123456789', 12), '-', pick('0123456789', 13), '-', pick(ALNUM, 24)].join(''),
  'slack-webhook': () => ['https://hooks.', 'slack.com/services/T', pick(UPPER_B32, 8), '/B', pick(UPPER_B32, 10), '/', pick(ALNUM, 24)].join(''),
  'aws-id': () => ['AK', 'IA', pick(UPPER_B32, 16)].join(''),
  'aws-secret': () => pick(B64, 40),
  google: () => ['AI', 'za', pick(B64URL, 35)].join(''),
  openai: () => ['sk', '-proj-', pick(B64URL, 64)].join(''),
  anthropic: () => ['sk', '-ant-api03-', pick(B64URL, 93), 'AA'].join(''),
  telegram: () => [pick('123456789', 1), pick('0123456789', 9), ':AA', pick(B64URL, 33)].join(''),
  jwt: () =>
    [b64url('{"alg":"HS256","typ":"JWT"}'), b64url(JSON.stringify({ sub: pick(ALNUM, 12), iat: 1767225600, scope: 'events:write' })), pick(B64URL, 43)].join(
      '.',
    ),
  basic: () => Buffer.from(`svc-partner:${pick(ALNUM, 20)}`).toString('base64'),
  generic: () => pick(ALNUM, 32),
  hex: () => pick(HEX, 32),
  'uuid-key': () => [pick(HEX, 8), pick(HEX, 4), `4${pick(HEX, 3)}`, `9${pick(HEX, 3)}`, pick(HEX, 12)].join('-'),
  password: () => `${pick(ALNUM, 6)}${pick('0123456789', 3)}${pick(ALNUM, 7)}`,
  // Decoys: random, but not secrets.
  'commit-sha': () => pick(HEX, 40),
  etag: () => `W/${pick(HEX, 32)}`,
  cursor: () => `cur_${pick(ALNUM, 28)}`,
  uuid: () => [pick(HEX, 8), pick(HEX, 4), `4${pick(HEX, 3)}`, `a${pick(HEX, 3)}`, pick(HEX, 12)].join('-'),
  sha256: () => createHash('sha256').update(randomBytes(16)).digest('hex'),
  'stripe-publishable': () => ['pk', 'live', pick(ALNUM, 24)].join('_'),
};

/** Words the scanner treats as placeholder text; a generated value containing one is drawn again. */
const PLACEHOLDER_LIKE = /(?<![a-z0-9])(?:todo|fixme|sample|dummy|example|placeholder|redacted)|x{4,}|(.)\1{5,}|EXAMPLE/i;

function generate(kind: string): string {
  const generator = GENERATORS[kind];
  if (generator === undefined) throw new Error(`corpus marker of unknown kind "${kind}"`);
  for (;;) {
    const value = generator();
    if (!PLACEHOLDER_LIKE.test(value)) return value;
  }
}

/** One marker occurrence in the corpus. */
export interface Plant {
  /** Corpus file, relative to the corpus folder. */
  file: string;
  workflowId: string;
  node: string;
  /** The marker, e.g. `stripe:2` or `!cursor`. */
  marker: string;
  /** A decoy (not a secret) when true. */
  decoy: boolean;
  value: string;
}

export interface MaterialisedCorpus {
  dir: string;
  /** Every marker occurrence, secrets and decoys. */
  plants: Plant[];
  close(): void;
}

const MARKER = /@@(!?[a-z0-9-]+(?::\d+)?)@@/g;

function filesUnder(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? filesUnder(path) : [path];
    })
    .filter((path) => path.endsWith('.json'));
}

interface RawNode {
  name: string;
  parameters?: unknown;
}
interface RawWorkflow {
  id?: string;
  nodes: RawNode[];
}

/** Copies the corpus to a temp folder with every marker replaced, and lists what was planted where. */
export function materialiseCorpus(source = CORPUS_DIR): MaterialisedCorpus {
  const dir = mkdtempSync(join(tmpdir(), 'migrate-corpus-'));
  cpSync(source, dir, { recursive: true });
  const values = new Map<string, string>();
  const valueOf = (marker: string) => {
    let value = values.get(marker);
    if (value === undefined) {
      value = generate(marker.replace(/^!/, '').replace(/:\d+$/, ''));
      values.set(marker, value);
    }
    return value;
  };
  const plants: Plant[] = [];
  for (const path of filesUnder(dir)) {
    const file = relative(dir, path);
    const text = readFileSync(path, 'utf8');
    const parsed = JSON.parse(text) as RawWorkflow | RawWorkflow[];
    for (const workflow of Array.isArray(parsed) ? parsed : [parsed]) {
      for (const node of workflow.nodes) {
        for (const match of JSON.stringify(node.parameters ?? {}).matchAll(MARKER)) {
          plants.push({ file, workflowId: workflow.id ?? '', node: node.name, marker: match[1], decoy: match[1].startsWith('!'), value: valueOf(match[1]) });
        }
      }
    }
    // JSON-escape the values (a marker may sit inside JSON text inside a JSON string).
    writeFileSync(
      path,
      text.replace(MARKER, (_m, marker: string) => JSON.stringify(valueOf(marker)).slice(1, -1)),
    );
  }
  return { dir, plants, close: () => rmSync(dir, { recursive: true, force: true }) };
}

/** First 8 hex of SHA-256, as the scanner prints it. */
export function fingerprintOf(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 8);
}

/** Which canaries occur in `text` (checked raw, base64 and URL-encoded). */
function leakedCanaries(text: string, canaries: readonly string[]): string[] {
  return canaries.filter((c) => text.includes(c) || text.includes(encodeURIComponent(c)) || text.includes(Buffer.from(c).toString('base64')));
}

/**
 * The markers (not the values: a failing test must not print them either) of the plants whose
 * value occurs in `text`. `only` limits the check to those markers.
 */
export function leakedMarkers(text: string, plants: readonly Plant[], only?: readonly string[]): string[] {
  const checked = plants.filter((p) => only === undefined || only.includes(p.marker));
  const leaked = new Set(
    leakedCanaries(
      text,
      checked.map((p) => p.value),
    ),
  );
  return [...new Set(checked.filter((p) => leaked.has(p.value)).map((p) => p.marker))];
}
