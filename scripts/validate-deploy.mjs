#!/usr/bin/env node
/**
 * Validates the deployment artefacts with the tools made for each:
 *
 * - Kubernetes (deploy/kubernetes/base and overlays/example): every manifest file, and what
 *   `kubectl kustomize` renders from each folder, against the Kubernetes API schemas of the
 *   `kubernetes-models` validators (types, required fields, enumerations; unknown fields are
 *   not refused by them). Rendering needs kubectl with kustomize v4 or newer: without it the
 *   files are still validated one by one and the line says rendering was skipped.
 * - Compose (deploy/compose/compose.yaml): the compose specification's JSON Schema
 *   (deploy/compose/schema, vendored from the compose-spec repository) with ajv.
 * - GitHub Actions (.github/workflows/*.yml): `@action-validator/cli`.
 * - systemd (deploy/systemd/*.service): `systemd-analyze verify`, when systemd-analyze exists.
 *
 *   node scripts/validate-deploy.mjs                       # everything in the repository
 *   node scripts/validate-deploy.mjs --kubernetes DIR --compose FILE --workflow FILE --systemd FILE
 *
 * One line per artefact (`ok`, `skipped` with the reason, or `FAILED` with every problem);
 * exit 1 when anything failed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const rel = (path) => relative(ROOT, path) || '.';

function parseArgs(argv) {
  const selected = { kubernetes: [], compose: [], workflow: [], systemd: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const kind = argv[i].replace(/^--/, '');
    if (!(kind in selected) || argv[i + 1] === undefined)
      throw new Error(`usage: validate-deploy.mjs [--kubernetes DIR] [--compose FILE] [--workflow FILE] [--systemd FILE] (got ${argv[i]})`);
    selected[kind].push(resolve(argv[i + 1]));
  }
  if (argv.length > 0) return selected;
  const workflows = join(ROOT, '.github/workflows');
  return {
    kubernetes: [join(ROOT, 'deploy/kubernetes/base'), join(ROOT, 'deploy/kubernetes/overlays/example')],
    compose: [join(ROOT, 'deploy/compose/compose.yaml')],
    workflow: existsSync(workflows)
      ? readdirSync(workflows)
          .filter((name) => /\.ya?ml$/.test(name))
          .map((name) => join(workflows, name))
      : [],
    systemd: [join(ROOT, 'deploy/systemd/secure-proxy.service')],
  };
}

function yamlDocuments(text, where) {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS();
    return value === null ? [] : [value];
  });
}

/** The kubernetes-models class for an object, e.g. apps/v1 Deployment → kubernetes-models/apps/v1/Deployment. */
async function modelFor(object) {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') throw new Error('no apiVersion or kind');
  try {
    const module = await import(`kubernetes-models/${apiVersion}/${kind}`);
    return module[kind];
  } catch {
    throw new Error(`${apiVersion} ${kind} is not a Kubernetes API type the validators know`);
  }
}

async function validateObjects(objects, where) {
  const problems = [];
  for (const object of objects) {
    const name = `${object.kind ?? '?'}/${object.metadata?.name ?? '?'}`;
    try {
      const Model = await modelFor(object);
      new Model(object).validate();
    } catch (err) {
      problems.push(`${where} ${name}: ${err.message}`);
    }
  }
  return problems;
}

/** kubectl's embedded kustomize version when it is v4 or newer, else null with the reason. */
function kustomizeVersion() {
  const result = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (result.error !== undefined) return { version: null, reason: 'kubectl is not installed' };
  const match = /Kustomize Version: v(\d+)\.[\w.+-]+/.exec(result.stdout);
  if (match === null || Number(match[1]) < 4) return { version: null, reason: `kubectl's kustomize is older than v4 (${result.stdout.trim().split('\n')[0]})` };
  return { version: match[0].split(': ')[1], reason: null };
}

async function validateKubernetes(folder) {
  // Patches are partial objects by design: only what kustomize renders from them is whole.
  const [kustomization] = yamlDocuments(readFileSync(join(folder, 'kustomization.yaml'), 'utf8'), 'kustomization.yaml');
  const patches = new Set([...(kustomization.patches ?? []).map((patch) => patch.path), ...(kustomization.patchesStrategicMerge ?? [])]);
  const files = readdirSync(folder).filter((name) => /\.ya?ml$/.test(name) && name !== 'kustomization.yaml' && !patches.has(name));
  const problems = [];
  let count = 0;
  for (const name of files) {
    const objects = yamlDocuments(readFileSync(join(folder, name), 'utf8'), name).filter((object) => object.apiVersion !== undefined);
    count += objects.length;
    problems.push(...(await validateObjects(objects, name)));
  }
  const kustomize = kustomizeVersion();
  let rendered = `rendering skipped: ${kustomize.reason}`;
  if (kustomize.version !== null) {
    const result = spawnSync('kubectl', ['kustomize', folder], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    if (result.status !== 0) problems.push(`kubectl kustomize: ${result.stderr.trim()}`);
    else {
      if (result.stderr.trim() !== '') problems.push(`kubectl kustomize warned: ${result.stderr.trim()}`);
      const objects = yamlDocuments(result.stdout, 'rendered');
      problems.push(...(await validateObjects(objects, 'rendered')));
      rendered = `${objects.length} objects rendered by kubectl kustomize (kustomize ${kustomize.version}) valid`;
    }
  }
  return { problems, summary: `${count} manifests in the folder valid; ${rendered}` };
}

function validateCompose(file) {
  // Draft 07, named by an https URL ajv does not know under that spelling: ajv's draft-07 applies.
  const schema = JSON.parse(readFileSync(join(ROOT, 'deploy/compose/schema/compose-spec.json'), 'utf8'));
  delete schema.$schema;
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  const [document] = yamlDocuments(readFileSync(file, 'utf8'), rel(file));
  if (validate(document)) return { problems: [], summary: `valid against the compose specification (${schema.title})` };
  return { problems: validate.errors.map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`), summary: '' };
}

function validateWorkflow(file) {
  const cli = join(ROOT, 'node_modules/@action-validator/cli/cli.mjs');
  const result = spawnSync(process.execPath, [cli, file], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (result.status === 0) return { problems: [], summary: 'valid (@action-validator/cli)' };
  return { problems: [`${result.stdout}${result.stderr}`.trim() || `exit ${result.status}`], summary: '' };
}

function validateSystemd(file) {
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined) return { problems: [], summary: 'skipped: systemd-analyze is not installed', skipped: true };
  // ExecStart must name an existing program: node stands in for the installed command.
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
  const output = `${result.stdout}${result.stderr}`.trim();
  if (result.status === 0 && output === '') return { problems: [], summary: `verified (systemd ${probe.stdout.split(/\s+/)[1]})` };
  return { problems: [output || `exit ${result.status}`], summary: '' };
}

async function main() {
  const selected = parseArgs(process.argv.slice(2));
  const checks = [
    ...selected.kubernetes.map((path) => ['kubernetes', path, () => validateKubernetes(path)]),
    ...selected.compose.map((path) => ['compose', path, () => validateCompose(path)]),
    ...selected.workflow.map((path) => ['workflow', path, () => validateWorkflow(path)]),
    ...selected.systemd.map((path) => ['systemd', path, () => validateSystemd(path)]),
  ];
  let failed = 0;
  for (const [kind, path, check] of checks) {
    let result;
    try {
      if (!existsSync(path) || (kind !== 'kubernetes' && !statSync(path).isFile())) throw new Error('does not exist');
      result = await check();
    } catch (err) {
      result = { problems: [err.message], summary: '' };
    }
    if (result.problems.length > 0) {
      failed++;
      process.stdout.write(`${kind} ${rel(path)}: FAILED\n  ${result.problems.join('\n  ')}\n`);
    } else process.stdout.write(`${kind} ${rel(path)}: ${result.skipped ? '' : 'ok, '}${result.summary}\n`);
  }
  process.stdout.write(`validate-deploy: ${checks.length - failed} of ${checks.length} artefacts valid\n`);
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`validate-deploy: ${err.message}\n`);
  process.exit(2);
});
