/**
 * `--workflows <service>=<ids>` of the token commands: parsing (with messages that say what
 * was expected), applying to a record (set, replace, remove), dropping the rules of ungranted
 * services, and the before → after line.
 */
import { TokenAdminUsageError } from '../../../proxy/src/admin/tokens/errors';
import { applyWorkflowRules, describeWorkflowChange, dropRulesOfUngranted, parseWorkflowsFlags } from '../../../proxy/src/admin/tokens/workflow-grants';
import type { TokenRecord } from '../../../proxy/src/auth/vault-records/record';

const record = (extra: Partial<TokenRecord> = {}): TokenRecord => ({ services: ['payments', 'github'], tokens: [], ...extra });

describe('parseWorkflowsFlags', () => {
  it('reads one service per value, ids de-duplicated, and "service=" as removing the rule', () => {
    expect(parseWorkflowsFlags(['payments=wf1, wf2,wf1', 'github='])).toEqual({ payments: ['wf1', 'wf2'], github: null });
    expect(parseWorkflowsFlags([])).toEqual({});
  });

  it.each([
    ['payments', '--workflows must look like payments=wf1,wf2'],
    ['=wf1', '--workflows must look like payments=wf1,wf2'],
    ['payments=wf 1', '--workflows payments: "wf 1" is not a workflow id'],
    ['payments=a/b,c d', '--workflows payments: "a/b", "c d" are not workflow ids'],
  ])('refuses %s', (value, message) => {
    expect(() => parseWorkflowsFlags([value])).toThrow(TokenAdminUsageError);
    expect(() => parseWorkflowsFlags([value])).toThrow(message);
  });

  it('refuses a service named twice', () => {
    expect(() => parseWorkflowsFlags(['payments=a', 'payments=b'])).toThrow('names service "payments" twice');
  });
});

describe('applyWorkflowRules', () => {
  it('sets, replaces and removes rules, and drops the field when none is left', () => {
    const narrowed = applyWorkflowRules(record(), { payments: ['wf1'] });
    expect(narrowed.workflows).toEqual({ payments: ['wf1'] });
    expect(applyWorkflowRules(narrowed, { payments: ['wf2', 'wf3'] }).workflows).toEqual({ payments: ['wf2', 'wf3'] });
    const opened = applyWorkflowRules(narrowed, { payments: null });
    expect(opened).not.toHaveProperty('workflows');
    expect(opened.services).toEqual(['payments', 'github']);
  });

  it('returns the same record when there is nothing to apply', () => {
    const same = record();
    expect(applyWorkflowRules(same, {})).toBe(same);
  });

  it('drops the rules of services no longer granted', () => {
    const ungranted = { ...record({ workflows: { payments: ['wf1'], github: ['wf2'] } }), services: ['github'] };
    expect(dropRulesOfUngranted(ungranted).workflows).toEqual({ github: ['wf2'] });
  });
});

describe('describeWorkflowChange', () => {
  it('says nothing for records without rules, and before → after otherwise', () => {
    expect(describeWorkflowChange(undefined, undefined)).toBeNull();
    expect(describeWorkflowChange(undefined, { payments: ['wf1', 'wf2'] })).toBe('  workflows: (none: any workflow) → payments=wf1,wf2');
    expect(describeWorkflowChange({ payments: ['wf1'] }, { payments: ['wf1'] })).toBe('  workflows: payments=wf1 (unchanged)');
  });
});
