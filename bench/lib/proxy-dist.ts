/**
 * The built proxy (`proxy/dist`, CommonJS), typed by its sources. The bench measures what
 * ships, so it loads the compiled JavaScript; `npm run bench` builds it first.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
/** Set by the runner for a second proxy started from another build (BENCH_BASELINE_DIST, see run.ts). */
export const PROXY_DIST_ENV = 'BENCH_PROXY_DIST';
const otherDist = process.env[PROXY_DIST_ENV];
const DIST = otherDist ? pathToFileURL(`${resolve(otherDist)}/`) : new URL('../../proxy/dist/', import.meta.url);
/** The repository's private dev package (the Vault emulator), built next to the proxy. */
const DEV_DIST = new URL('../../dev/dist/', import.meta.url);

function load<T>(relative: string, dist = DIST): T {
  const file = fileURLToPath(new URL(relative, dist));
  if (!existsSync(file)) throw new Error(`${file} is missing: build first (npm run build)`);
  return require(file) as T;
}

export const appModule = (): typeof import('../../proxy/src/app/app.js') => load('app/app.js');
export const appSwitchModule = (): typeof import('../../proxy/src/listener/app-switch.js') => load('listener/app-switch.js');
export const serverModule = (): typeof import('../../proxy/src/listener/server.js') => load('listener/server.js');
export const configModule = (): typeof import('../../proxy/src/config/load.js') => load('config/load.js');
export const loggerModule = (): typeof import('../../proxy/src/observability/logger.js') => load('observability/logger.js');
export const metricsModule = (): typeof import('../../proxy/src/observability/metrics.js') => load('observability/metrics.js');
export const redactionModule = (): typeof import('../../proxy/src/observability/redaction.js') => load('observability/redaction.js');
/** The `secure-proxy` command line, the module a production proxy starts from (loading it runs nothing). */
export const cliModule = (): typeof import('../../proxy/src/cli.js') => load('cli.js');
export const tokensModule = (): typeof import('../../proxy/src/auth/token-format.js') => load('auth/token-format.js');
export const vaultEmulatorModule = (): typeof import('../../dev/src/vault-emulator.js') => load('vault-emulator.js', DEV_DIST);
