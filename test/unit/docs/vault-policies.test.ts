/**
 * The Vault policies exist once, as files (proxy/policies/*.hcl, shipped in the package and
 * written by `secure-proxy vault bootstrap`); docs/vault-admin.md prints them. Every hcl block
 * of the guide is one of the files, word for word, and every file is in the guide.
 * test/integration/cli-check.test.ts proves the files against Vault.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POLICIES, POLICY_DIR, readPolicyFile, type PolicyName } from '../../../proxy/src/admin/vault-bootstrap/policies';

const DOC_PATH = join(__dirname, '../../../docs/vault-admin.md');

/** Fenced ```hcl blocks of the guide (indented ones too), dedented. */
function docHclBlocks(): string[] {
  const doc = readFileSync(DOC_PATH, 'utf8');
  return [...doc.matchAll(/^( *)```hcl\n([\s\S]*?)^\1```$/gm)].map(([, indent, body]) =>
    body
      .split('\n')
      .map((line) => line.slice(indent.length))
      .join('\n'),
  );
}

describe('docs/vault-admin.md and proxy/policies', () => {
  const files = readdirSync(POLICY_DIR).filter((name) => name.endsWith('.hcl'));

  it('the folder holds exactly the policies the code knows', () => {
    expect(files.map((name) => name.replace(/\.hcl$/, '')).sort()).toEqual(Object.values(POLICIES).sort());
  });

  it.each(Object.values(POLICIES))('%s.hcl starts with the line that names it', (name) => {
    expect(readPolicyFile(name).split('\n')[0]).toMatch(new RegExp(`^# Policy "${name}": `));
  });

  it('every hcl block of the guide is a policy file, word for word', () => {
    const blocks = docHclBlocks();
    expect(blocks.length).toBe(files.length);
    for (const block of blocks) {
      const name = /^# Policy "([a-z-]+)":/.exec(block)?.[1];
      expect({ block: block.split('\n')[0], file: name !== undefined && Object.values(POLICIES).includes(name as PolicyName) }).toEqual({
        block: block.split('\n')[0],
        file: true,
      });
      expect(block).toBe(readPolicyFile(name as PolicyName));
    }
  });

  it('names the folder the files are in', () => {
    expect(readFileSync(DOC_PATH, 'utf8')).toContain('(../proxy/policies)');
  });
});
