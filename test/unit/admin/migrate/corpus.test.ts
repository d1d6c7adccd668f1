/**
 * The scanner against the corpus of realistic exported workflows: every planted secret is
 * found (recall), nothing else is (false positives, decoys included), and each finding points
 * at the node that holds the secret. The numbers are printed so a change to the rules shows
 * what it costs.
 */
import { readWorkflowInputs } from '../../../../proxy/src/admin/migrate/read-files';
import { scanWorkflow, type Finding } from '../../../../proxy/src/admin/migrate/scan';
import { formatScanJson, formatScanText } from '../../../../proxy/src/admin/migrate/scan-report';
import { fingerprintOf, leakedMarkers, materialiseCorpus, type MaterialisedCorpus } from '../../../support/migrate-corpus';

describe('migrate scan on the corpus', () => {
  let corpus: MaterialisedCorpus;
  let findings: Finding[];

  beforeAll(async () => {
    corpus = materialiseCorpus();
    const workflows = await readWorkflowInputs([corpus.dir]);
    findings = workflows.flatMap(scanWorkflow).map((d) => d.finding);
  });
  afterAll(() => corpus?.close());

  const key = (workflowId: string, node: string, fp: string) => `${workflowId}\u0000${node}\u0000${fp}`;

  it('finds every planted secret and reports nothing else (full recall, zero false positives)', () => {
    const secrets = corpus.plants.filter((p) => !p.decoy);
    const expected = new Set(secrets.map((p) => key(p.workflowId, p.node, fingerprintOf(p.value))));
    const reported = new Set(findings.map((f) => key(f.workflowId, f.node, f.fingerprint)));
    const missed = secrets.filter((p) => !reported.has(key(p.workflowId, p.node, fingerprintOf(p.value))));
    const falsePositives = findings.filter((f) => !expected.has(key(f.workflowId, f.node, f.fingerprint)));
    const recall = (secrets.length - missed.length) / secrets.length;
    process.stdout.write(
      `migrate corpus: ${secrets.length} planted secrets, ${corpus.plants.length - secrets.length} decoys; ` +
        `recall ${(recall * 100).toFixed(1)}%, false positives ${falsePositives.length}\n`,
    );
    expect(falsePositives.map((f) => `${f.workflowName} ${f.node} ${f.parameter} ${f.kind}`)).toEqual([]);
    expect(missed.map((p) => `${p.file} ${p.node} ${p.marker}`)).toEqual([]);
    expect(secrets.length).toBeGreaterThanOrEqual(30);
  });

  it('names the kind of each well-known format', () => {
    const kindOf = (marker: string) => {
      const plant = corpus.plants.find((p) => p.marker === marker)!;
      return findings.find((f) => f.fingerprint === fingerprintOf(plant.value))?.kind;
    };
    expect({
      stripe: kindOf('stripe'),
      github: kindOf('github'),
      githubPat: kindOf('github-pat'),
      slack: kindOf('slack'),
      slackWebhook: kindOf('slack-webhook'),
      awsId: kindOf('aws-id'),
      awsSecret: kindOf('aws-secret'),
      google: kindOf('google'),
      openai: kindOf('openai'),
      anthropic: kindOf('anthropic'),
      jwt: kindOf('jwt'),
      telegram: kindOf('telegram'),
      basic: kindOf('basic'),
      password: kindOf('password'),
      generic: kindOf('generic'),
    }).toEqual({
      stripe: 'stripe-key',
      github: 'github-token',
      githubPat: 'github-token',
      slack: 'slack-token',
      slackWebhook: 'slack-webhook',
      awsId: 'aws-access-key-id',
      awsSecret: 'aws-secret-access-key',
      google: 'google-api-key',
      openai: 'openai-key',
      anthropic: 'anthropic-key',
      jwt: 'jwt',
      telegram: 'telegram-bot-token',
      basic: 'basic-credentials',
      password: 'password',
      generic: 'generic-secret',
    });
  });

  it('names the workflow, node, parameter path and location of a finding', () => {
    const plant = corpus.plants.find((p) => p.marker === 'stripe')!;
    expect(findings.find((f) => f.fingerprint === fingerprintOf(plant.value))).toEqual({
      workflowId: 'Wv4Payments00001',
      workflowName: 'Payments: refunds to Slack',
      node: 'List refunds',
      nodeType: 'n8n-nodes-base.httpRequest',
      parameter: 'headerParameters.parameters[0].value',
      kind: 'stripe-key',
      fingerprint: fingerprintOf(plant.value),
      location: 'header',
      source: expect.stringMatching(/all-workflows\.json\[0\]$/),
    });
    const inJson = corpus.plants.find((p) => p.marker === 'openai')!;
    expect(findings.find((f) => f.fingerprint === fingerprintOf(inJson.value))).toMatchObject({ parameter: 'jsonHeaders → Authorization', location: 'header' });
    const inUrl = corpus.plants.find((p) => p.marker === 'password')!;
    expect(findings.find((f) => f.fingerprint === fingerprintOf(inUrl.value))).toMatchObject({ parameter: 'url', location: 'url-userinfo' });
  });

  it('never prints a planted value, in either format', () => {
    const out = formatScanJson(findings) + formatScanText(findings, 6);
    expect(leakedMarkers(out, corpus.plants)).toEqual([]);
  });
});
