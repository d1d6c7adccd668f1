/**
 * Reading workflow exports: every shape n8n writes, and errors that name the file and say why
 * without quoting its text (a broken export may hold a secret right where it breaks).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnreadableInputError } from '../../../../proxy/src/admin/migrate/errors';
import { readWorkflowFile, readWorkflowInputs } from '../../../../proxy/src/admin/migrate/read-files';

const workflow = (id: string) => ({ id, name: `wf ${id}`, nodes: [{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} }], connections: {} });

describe('reading workflow exports', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'migrate-read-'));
    writeFileSync(join(dir, 'one.json'), JSON.stringify(workflow('a')));
    writeFileSync(join(dir, 'all.json'), JSON.stringify([workflow('b'), workflow('c')]));
    writeFileSync(join(dir, 'page.json'), JSON.stringify({ data: [workflow('d')], nextCursor: null }));
    mkdirSync(join(dir, 'folder', 'nested'), { recursive: true });
    writeFileSync(join(dir, 'folder', 'nested', 'e.json'), JSON.stringify(workflow('e')));
    writeFileSync(join(dir, 'folder', 'README.txt'), 'not a workflow, not read');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads one workflow, arrays, API pages and folders (recursively, .json only)', async () => {
    const read = await readWorkflowInputs([join(dir, 'one.json'), join(dir, 'all.json'), join(dir, 'page.json'), join(dir, 'folder')]);
    expect(read.map((w) => [w.workflow.id, w.source.slice(dir.length + 1)])).toEqual([
      ['a', 'one.json'],
      ['b', 'all.json[0]'],
      ['c', 'all.json[1]'],
      ['d', 'page.json'],
      ['e', join('folder', 'nested', 'e.json')],
    ]);
    expect((await readWorkflowFile(join(dir, 'one.json'))).single).toBe(true);
    expect((await readWorkflowFile(join(dir, 'all.json'))).single).toBe(false);
  });

  it('names the file and the problem, never the text around a syntax error', async () => {
    const canary = `tok_${Date.now()}_${Math.random().toString(36).slice(2)}`;
    for (const text of [`{"nodes": [], "token": "${canary}" oops}`, `{"token": ${canary}}`, `${canary}`]) {
      writeFileSync(join(dir, 'broken.json'), text);
      const error = await readWorkflowInputs([join(dir, 'broken.json')]).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(UnreadableInputError);
      expect((error as Error).message).toMatch(new RegExp(`^cannot read ${join(dir, 'broken.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON`));
      expect((error as Error).message).not.toContain(canary);
    }
  });

  it('refuses an empty folder and JSON that holds no workflow', async () => {
    mkdirSync(join(dir, 'empty'));
    await expect(readWorkflowInputs([join(dir, 'empty')])).rejects.toThrow(/the folder holds no \.json files/);
    writeFileSync(join(dir, 'other.json'), JSON.stringify([{ nodes: [{ name: 1 }] }]));
    await expect(readWorkflowInputs([join(dir, 'other.json')])).rejects.toThrow(/not an n8n workflow export/);
  });
});
