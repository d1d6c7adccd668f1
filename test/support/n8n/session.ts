/**
 * The e2e session: one temp folder per jest run (made by ./global-setup.ts) that holds every
 * instance's folder and packed tarball, plus one file per process group the harness started.
 * Code under jest cannot hook the real process' exit, so ./global-setup.ts (which runs outside
 * the test sandbox) kills whatever groups are still listed when jest exits or is interrupted,
 * and removes the folder. Outside that setup the harness falls back to the OS temp folder.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SESSION_ENV = 'N8N_E2E_SESSION_DIR';

/** Where temp folders go: the session folder when there is one. */
export function tempRoot(): string {
  return process.env[SESSION_ENV] || tmpdir();
}

function pidsDir(): string | undefined {
  const session = process.env[SESSION_ENV];
  return session ? join(session, 'pids') : undefined;
}

export function recordGroup(pid: number): void {
  const dir = pidsDir();
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, String(pid)), '');
}

export function forgetGroup(pid: number): void {
  const dir = pidsDir();
  if (dir) rmSync(join(dir, String(pid)), { force: true });
}

/** SIGKILLs every process group still listed in a session folder (synchronous: runs on exit). */
export function killListedGroups(session: string): void {
  let pids: string[];
  try {
    pids = readdirSync(join(session, 'pids'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const pid of pids) {
    try {
      process.kill(-Number(pid), 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}
