/**
 * The built proxy (`proxy/dist`, CommonJS), typed by its sources. The bench measures what
 * ships, so it loads the compiled JavaScript; `npm run bench` builds it first.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const DIST = new URL('../../proxy/dist/', import.meta.url);

function load<T>(relative: string): T {
  const file = fileURLToPath(new URL(relative, DIST));
  if (!existsSync(file)) throw new Error(`${file} is missing: build the proxy first (npm run build --workspace proxy)`);
  return require(file) as T;
}

export const appModule = (): typeof import('../../proxy/src/app.js') => load('app.js');
export const serverModule = (): typeof import('../../proxy/src/server.js') => load('server.js');
export const configModule = (): typeof import('../../proxy/src/config/load.js') => load('config/load.js');
export const loggerModule = (): typeof import('../../proxy/src/observability/logger.js') => load('observability/logger.js');
export const redactionModule = (): typeof import('../../proxy/src/observability/redaction.js') => load('observability/redaction.js');
export const tokensModule = (): typeof import('../../proxy/src/clients/tokens.js') => load('clients/tokens.js');
export const vaultEmulatorModule = (): typeof import('../../proxy/src/dev/vault-emulator.js') => load('dev/vault-emulator.js');
