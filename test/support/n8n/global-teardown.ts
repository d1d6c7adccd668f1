/** jest globalTeardown for the e2e suites: see ./global-setup.ts. */
import { rmSync } from 'node:fs';
import { SESSION_ENV, killListedGroups } from './session';

export default function globalTeardown(): void {
  const session = process.env[SESSION_ENV];
  if (!session) return;
  killListedGroups(session);
  rmSync(session, { recursive: true, force: true });
}
