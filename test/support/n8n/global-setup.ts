/**
 * jest globalSetup for the e2e suites: creates the session folder (see ./session.ts) and, in
 * jest's own process, makes sure no n8n outlives the run — also on Ctrl-C or a crash, when the
 * suites' afterAll never runs. jest.e2e.config.js also names ./global-teardown.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SESSION_ENV, killListedGroups } from './session';

export default function globalSetup(): void {
  const session = mkdtempSync(join(tmpdir(), 'n8n-e2e-'));
  process.env[SESSION_ENV] = session;

  const cleanUp = () => {
    killListedGroups(session);
    rmSync(session, { recursive: true, force: true });
  };
  process.once('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanUp();
      process.kill(process.pid, signal);
    });
  }
}
