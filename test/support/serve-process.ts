/**
 * Helpers for tests that run `secure-proxy serve --config FILE` as a child process against a
 * proxy harness: a folder of its own for the config file, the file's text (AppRole login from
 * the environment, one echo service), and waiting for a line in the process output.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, startCli } from './cli';
import { expectNothingHidden } from './proxy-assertions';
import type { ProxyHarness } from './proxy-harness';
import { sleep } from './vault-setup';

export type ServeProcess = Awaited<ReturnType<typeof startCli>>;

/** Polls the process output until it matches `pattern` (30 s at most: a deadline for a busy machine, not a pace). */
export async function waitForOutput(proc: ServeProcess, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (pattern.test(proc.output())) return;
    await sleep(50);
  }
  throw new Error(`output never matched ${pattern}:\n${proc.output().slice(-3000)}`);
}

export interface ServeConfigOptions {
  /** The `listen:` mapping, in YAML flow style. */
  listen: string;
  /** Hash of the token of client `n8n-prod`, which may use `echo`. */
  tokenHash: string;
  /** Extra fields of the `echo` service, in YAML flow style (`paths: ["/a/**"]`). */
  echoFields?: string[];
  /** More services, each as YAML flow-style fields (`target: "…"`, `secret: svc/x`, …); client `n8n-prod` may use them all. */
  services?: Record<string, string[]>;
  /** Lines appended at the end. */
  extraLines?: string[];
}

/** Config file text for the harness: VAULT_ROLE_ID / VAULT_SECRET_ID come from the process environment. */
function serveConfigYaml(harness: ProxyHarness, options: ServeConfigOptions): string {
  const echo = [`target: "${harness.upstream.url}/base"`, 'secret: svc/echo', 'inject: { type: bearer, field: token }', ...(options.echoFields ?? [])];
  const more = Object.entries(options.services ?? {});
  return [
    `listen: ${options.listen}`,
    'vault:',
    `  address: ${harness.vault.address}`,
    `  auth: { method: approle, roleId: "\${VAULT_ROLE_ID}", secretId: "\${VAULT_SECRET_ID}", mount: ${harness.approleMount} }`,
    `  kvMount: ${harness.mount}`,
    'clients:',
    `  n8n-prod: { tokenHashes: ["${options.tokenHash}"], services: [${['echo', ...more.map(([name]) => name)].join(', ')}] }`,
    'services:',
    `  echo: { ${echo.join(', ')} }`,
    ...more.map(([name, fields]) => `  ${name}: { ${fields.join(', ')} }`),
    ...(options.extraLines ?? []),
    '',
  ].join('\n');
}

/** A temporary folder holding a serve process's `proxy.yaml` (and whatever else a test puts there). */
export interface ServeFolder {
  dir: string;
  /** `<dir>/proxy.yaml`. */
  configFile: string;
  /** (Re)writes the config file for the harness; a running process reads it again on SIGHUP. */
  writeConfig(options: ServeConfigOptions): string;
  /** Deletes the folder and everything in it. */
  remove(): void;
}

/** Makes a folder under the system temp directory, named `<prefix>…`, for one serve process. */
export function createServeFolder(harness: ProxyHarness, prefix: string): ServeFolder {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const configFile = join(dir, 'proxy.yaml');
  return {
    dir,
    configFile,
    writeConfig(options) {
      writeFileSync(configFile, serveConfigYaml(harness, options));
      return configFile;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Starts `secure-proxy serve --config FILE` logging in with the harness's AppRole; resolves with the URL it logged. */
export async function startServe(harness: ProxyHarness, configFile: string): Promise<{ proc: ServeProcess; url: string }> {
  const env = cleanEnv({ VAULT_ROLE_ID: harness.appRole.roleId, VAULT_SECRET_ID: harness.appRole.secretId });
  const proc = await startCli(['serve', '--config', configFile], /"msg":"proxy listening"/, { env });
  const url = /"url":"(https?:\/\/127\.0\.0\.1:\d+)"/.exec(proc.output())![1];
  return { proc, url };
}

/** Fails when the process output (stdout and stderr) holds any of `hidden` (secrets, tokens, key material) or a Vault token. */
export function expectOutputHides(proc: ServeProcess, hidden: readonly string[]): void {
  expectNothingHidden([proc.output()], hidden);
}

/** SIGTERM, then waits for the process to exit; resolves with its exit code. */
export async function stopServe(proc: ServeProcess | undefined): Promise<number | null> {
  if (proc === undefined) return null;
  proc.child.kill('SIGTERM');
  return proc.exited;
}
