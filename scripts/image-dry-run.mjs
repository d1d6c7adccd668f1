#!/usr/bin/env node
/**
 * Builds the proxy's container image without a container engine and starts the proxy from
 * it, to prove what deploy/docker/Dockerfile produces:
 *
 *   node scripts/image-dry-run.mjs [--mount HOST:CONTAINER]... [--env NAME[=VALUE]]... [--hold] [--keep DIR] [-- ARGS...]
 *
 * 1. Reads the Dockerfile (dockerfile-ast, the parser of dockerfile-utils) and performs its
 *    instructions in order, each stage in a folder of its own: FROM starts an empty folder,
 *    WORKDIR, ENV and ARG are kept, COPY copies from the build context (the repository as
 *    .dockerignore filters it) or from an earlier stage, RUN runs its shell command in the
 *    stage's WORKDIR with this machine's Node.js and npm. The base image's own files are not
 *    there: the steps may only use node and npm from it, which is what keeps them honest.
 * 2. Checks the result: a non-root numeric USER, an exec-form ENTRYPOINT, a HEALTHCHECK, and
 *    none of the proxy's devDependencies installed.
 * 3. Runs ENTRYPOINT with `--version`, then ENTRYPOINT + CMD (or ARGS) with the image's ENV,
 *    the --env values and the --mount files (copied to their container path), and runs the
 *    HEALTHCHECK command until it succeeds. Absolute paths in arguments and environment
 *    values that exist in the image are mapped into the stage folder.
 * 4. Sends SIGTERM (at once, or with --hold when this script gets SIGTERM or SIGINT), expects
 *    the proxy to exit 0, and checks that nothing in the image's file system changed: the
 *    image works with a read-only root file system.
 *
 * Prints `image-dry-run: ready <pid>` once healthy and `image-dry-run: ok` at the end; exit 1
 * with the reason otherwise. What it cannot show: the base image's own contents, the USER
 * switch (the proxy runs as the invoking user) and the kernel's enforcement of a read-only
 * mount; a real `docker build` does.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser } from 'dockerfile-ast';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DOCKERFILE = join(ROOT, 'deploy/docker/Dockerfile');
const HEALTHY_DEADLINE_MS = 90_000;
const STOP_DEADLINE_MS = 30_000;

class DryRunError extends Error {}
const fail = (message) => {
  throw new DryRunError(message);
};
const log = (message) => process.stderr.write(`image-dry-run: ${message}\n`);

function parseArgs(argv) {
  const options = { mounts: [], env: {}, hold: false, keep: null, args: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i] ?? fail(`${arg} needs a value`);
    if (arg === '--') {
      options.args = argv.slice(i + 1);
      break;
    } else if (arg === '--mount') {
      const [host, container] = value().split(':');
      if (!host || !container?.startsWith('/')) fail('--mount takes HOST_FILE:/CONTAINER/PATH');
      options.mounts.push({ host, container });
    } else if (arg === '--env') {
      const pair = value();
      const at = pair.indexOf('=');
      // `--env NAME` passes this script's own value on, as `docker run -e NAME` does (keeps secrets off the command line).
      if (at === -1) options.env[pair] = process.env[pair] ?? fail(`--env ${pair}: not set in this environment`);
      else if (at === 0) fail('--env takes NAME=VALUE or NAME');
      else options.env[pair.slice(0, at)] = pair.slice(at + 1);
    } else if (arg === '--hold') options.hold = true;
    else if (arg === '--keep') options.keep = value();
    else fail(`unknown option ${arg}`);
  }
  return options;
}

/** The build context as .dockerignore lets it through; only `*` and `!path` lines are understood. */
function buildContext(into) {
  const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (lines[0] !== '*' || lines.slice(1).some((line) => !line.startsWith('!')))
    fail('.dockerignore must be `*` followed by `!path` lines (this script reads only that form)');
  for (const line of lines.slice(1)) {
    const path = line.slice(1).replace(/\/$/, '');
    if (!existsSync(join(ROOT, path))) fail(`.dockerignore lets through ${path}, which does not exist`);
    cpSync(join(ROOT, path), join(into, path), { recursive: true });
  }
}

const expand = (text, vars) => text.replace(/\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g, (_, a, fallback, b) => vars[a ?? b] ?? fallback ?? '');

/** COPY semantics: a folder's contents go into the destination; a destination ending in / (or several sources) is a folder. */
function copyInto(sources, destination, stage) {
  const target = join(stage.root, posix.resolve(stage.workdir, destination));
  const intoFolder = destination.endsWith('/') || sources.length > 1;
  for (const source of sources) {
    if (!existsSync(source)) fail(`COPY: ${relative(ROOT, source)} does not exist in the context or stage`);
    if (statSync(source).isDirectory()) cpSync(source, target, { recursive: true, verbatimSymlinks: true });
    else {
      const file = intoFolder ? join(target, source.split('/').pop()) : target;
      mkdirSync(dirname(file), { recursive: true });
      cpSync(source, file);
    }
  }
}

/** Performs the Dockerfile's instructions; returns the final stage. */
function build(workDir) {
  const context = join(workDir, 'context');
  buildContext(context);
  const dockerfile = DockerfileParser.parse(readFileSync(DOCKERFILE, 'utf8'));
  const args = {};
  const stages = [];
  let stage = null;
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const words = instruction.getArguments().map((arg) => arg.getValue());
    const vars = { ...args, ...(stage?.env ?? {}) };
    if (keyword === 'ARG') {
      const [name, value = ''] = words[0].split('=');
      if (stage === null || !(name in args)) args[name] = value;
    } else if (keyword === 'FROM') {
      const name = words[2] ?? `stage${stages.length}`;
      stage = {
        name,
        base: expand(words[0], args),
        root: join(workDir, 'stages', name),
        workdir: '/',
        env: {},
        user: null,
        entrypoint: null,
        cmd: null,
        healthcheck: null,
      };
      mkdirSync(stage.root, { recursive: true });
      stages.push(stage);
      log(`FROM ${stage.base} AS ${name}`);
    } else if (stage === null) fail(`${keyword} before FROM`);
    else if (keyword === 'WORKDIR') {
      stage.workdir = posix.resolve(stage.workdir, expand(words[0], vars));
      mkdirSync(join(stage.root, stage.workdir), { recursive: true });
    } else if (keyword === 'ENV') {
      for (const property of instruction.getProperties()) stage.env[property.getName()] = expand(property.getValue() ?? '', vars);
    } else if (keyword === 'COPY') {
      const from = instruction.getFromFlag()?.getValue();
      const paths = words.filter((word) => !word.startsWith('--'));
      const destination = paths.pop();
      const base = from === undefined ? context : (stages.find((s) => s.name === from)?.root ?? fail(`COPY --from=${from}: no such stage`));
      log(`COPY ${from ? `--from=${from} ` : ''}${paths.join(' ')} ${destination}`);
      copyInto(
        paths.map((path) => join(base, path)),
        destination,
        stage,
      );
    } else if (keyword === 'RUN') {
      const command = instruction.getRawArgumentsContent().replace(/\\\n/g, ' ');
      log(`RUN ${command}`);
      const result = spawnSync('sh', ['-c', command], { cwd: join(stage.root, stage.workdir), env: { ...process.env, ...stage.env }, stdio: ['ignore', 2, 2] });
      if (result.status !== 0) fail(`RUN failed (exit ${result.status}): ${command}`);
    } else if (keyword === 'USER') stage.user = words[0];
    else if (keyword === 'ENTRYPOINT' || keyword === 'CMD') {
      const strings = instruction.getJSONStrings?.().map((json) => json.getJSONValue()) ?? [];
      if (strings.length === 0) fail(`${keyword} must use the exec (JSON) form, so signals reach the proxy`);
      stage[keyword.toLowerCase()] = strings;
    } else if (keyword === 'HEALTHCHECK') {
      const exec = /\bCMD\s+(\[.*\])\s*$/s.exec(instruction.getRawArgumentsContent().replace(/\\\n/g, ' '));
      stage.healthcheck = exec === null ? fail('HEALTHCHECK must use CMD in the exec (JSON) form') : JSON.parse(exec[1]);
    } else if (keyword !== 'LABEL' && keyword !== 'EXPOSE') fail(`${keyword} is not something this script can perform`);
  }
  if (stage === null) fail('the Dockerfile has no FROM');
  return stage;
}

/** Checks what the final stage promises before anything runs. */
function checkImage(image) {
  if (image.user === null || !/^[1-9]\d*(:\d+)?$/.test(image.user))
    fail(`USER must be a numeric non-root uid (Kubernetes runAsNonRoot needs a number), got ${image.user}`);
  if (image.entrypoint === null) fail('no ENTRYPOINT');
  if (image.healthcheck === null || image.healthcheck.length === 0) fail('no HEALTHCHECK in exec form');
  const manifest = JSON.parse(readFileSync(join(ROOT, 'proxy/package.json'), 'utf8'));
  const installed = Object.keys(manifest.devDependencies ?? {}).filter((name) =>
    ['opt/secure-proxy/node_modules', 'opt/secure-proxy/proxy/node_modules'].some((folder) => existsSync(join(image.root, folder, name))),
  );
  if (installed.length > 0) fail(`development dependencies in the image: ${installed.join(', ')}`);
  return manifest.version;
}

/** A path that exists in the image is mapped into its folder; anything else is left alone. */
const inImage = (image, value) => (value.startsWith('/') && existsSync(join(image.root, value)) ? join(image.root, value) : value);

function runEnv(image, options) {
  const env = { ...image.env, ...options.env };
  for (const [name, value] of Object.entries(env)) env[name] = inImage(image, value);
  // The image has no home or temp folder of its own: pointing both inside it makes any write there show.
  return { PATH: process.env.PATH, HOME: join(image.root, 'home/node'), TMPDIR: join(image.root, 'tmp'), ...env };
}

const command = (image, words) => words.map((word) => inImage(image, word));

/** Every file under the image's root with size and modification time, to see any write. */
function snapshot(root) {
  const entries = [];
  const walk = (folder) => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      const stat = lstatSync(path);
      entries.push(`${relative(root, path)} ${stat.size} ${stat.mtimeMs}`);
      if (stat.isDirectory()) walk(path);
    }
  };
  walk(root);
  return entries;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitHealthy(image, env, proxy) {
  const deadline = Date.now() + HEALTHY_DEADLINE_MS;
  const [program, ...args] = command(image, image.healthcheck);
  while (Date.now() < deadline) {
    if (proxy.exitCode !== null) fail(`the proxy exited (${proxy.exitCode}) before its HEALTHCHECK passed`);
    if (spawnSync(program, args, { env, stdio: 'ignore', timeout: 10_000 }).status === 0) return;
    await sleep(500);
  }
  fail(`HEALTHCHECK did not pass within ${HEALTHY_DEADLINE_MS / 1000} s`);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const workDir = options.keep ?? mkdtempSync(join(tmpdir(), 'image-dry-run-'));
  if (options.keep !== null) rmSync(workDir, { recursive: true, force: true });
  try {
    const image = build(workDir);
    const version = checkImage(image);
    for (const mount of options.mounts) {
      mkdirSync(join(image.root, dirname(mount.container)), { recursive: true });
      writeFileSync(join(image.root, mount.container), readFileSync(mount.host));
    }
    const env = runEnv(image, options);
    const [program, ...entryArgs] = command(image, image.entrypoint);
    const printed = spawnSync(program, [...entryArgs, '--version'], { env, encoding: 'utf8', timeout: 30_000 });
    if (printed.status !== 0 || printed.stdout.trim() !== version)
      fail(`--version printed ${JSON.stringify(printed.stdout)} (exit ${printed.status}), expected ${version}`);
    log(`--version: ${version}`);

    const before = snapshot(image.root);
    const proxy = spawn(program, [...entryArgs, ...command(image, options.args ?? image.cmd ?? [])], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = new Promise((resolve) => proxy.once('exit', (code, signal) => resolve({ code, signal })));
    await waitHealthy(image, env, proxy);
    process.stdout.write(`image-dry-run: ready ${proxy.pid}\n`);
    if (options.hold) {
      await new Promise((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
        void exited.then(resolve);
      });
    }
    proxy.kill('SIGTERM');
    const timer = setTimeout(() => proxy.kill('SIGKILL'), STOP_DEADLINE_MS);
    const { code, signal } = await exited;
    clearTimeout(timer);
    if (code !== 0) fail(`the proxy did not stop cleanly on SIGTERM: exit ${code ?? signal}`);
    const after = snapshot(image.root);
    const changed = after.filter((line) => !before.includes(line)).concat(before.filter((line) => !after.includes(line)));
    if (changed.length > 0) fail(`the proxy wrote into the image's file system (a read-only root would refuse it):\n  ${changed.join('\n  ')}`);
    log('stopped cleanly on SIGTERM; nothing in the image changed');
    process.stdout.write('image-dry-run: ok\n');
  } finally {
    if (options.keep === null) rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`image-dry-run: ${err instanceof DryRunError ? err.message : (err?.stack ?? String(err))}\n`);
  process.exit(1);
});
