/**
 * `secure-proxy serve` without a config starts dev mode. Dev mode (an in-memory Vault
 * emulator, a sample API and a fresh token) lives in the repository's private
 * `secure-proxy-dev` package, which is never published: the proxy's package holds no
 * emulator. So it is loaded here, at run time, only when asked for; an installed proxy
 * without it says how to get a working first run instead.
 */
import type { RunningProxy } from '../app/run';
import { EXAMPLE_CONFIG } from './example-config';

/** What this command needs of the `secure-proxy-dev` package. */
interface DevModePackage {
  runDevMode(options: { port: number }): Promise<RunningProxy>;
}

const DEV_PACKAGE = 'secure-proxy-dev';

/** Raised when dev mode is not installed next to the proxy. */
export class DevModeUnavailableError extends Error {
  constructor() {
    super(
      `no config: pass --config FILE or set SECURE_PROXY_CONFIG (an example to start from: ${EXAMPLE_CONFIG}). ` +
        'Dev mode, which needs no config and no Vault, runs from a clone of the repository: ./scripts/dev.sh',
    );
    this.name = 'DevModeUnavailableError';
  }
}

function isMissingDevPackage(err: unknown): boolean {
  const error = err as NodeJS.ErrnoException | null;
  return (
    (error?.code === 'ERR_MODULE_NOT_FOUND' || error?.code === 'MODULE_NOT_FOUND') &&
    typeof error.message === 'string' &&
    error.message.includes(`'${DEV_PACKAGE}'`)
  );
}

/** Starts dev mode on `port` (0: a free one); resolves once the proxy listens. */
export async function startDevMode(port: number): Promise<RunningProxy> {
  let devMode: DevModePackage;
  try {
    devMode = (await import(DEV_PACKAGE)) as DevModePackage;
  } catch (err) {
    if (isMissingDevPackage(err)) throw new DevModeUnavailableError();
    throw err;
  }
  return devMode.runDevMode({ port });
}
