/**
 * Child processes for the n8n harness. Every child is started in its own process group, so
 * killing the group also ends what it started (n8n's JS task runner). Each group is listed in
 * the e2e session (./session.ts) until it is killed, as a safety net for interrupted runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { forgetGroup, recordGroup } from './session';

export interface CommandResult {
  code: number | null;
  /** Set when the process was killed by a signal (then `code` is null). */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Collects the process group id, so that its owner can kill the group (see killGroup). */
  groups?: Set<number>;
}

const liveGroups = new Set<number>();

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: the whole group is gone already.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

function startGroup(command: string, args: string[], options: RunOptions): ChildProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid !== undefined) {
    liveGroups.add(pid);
    recordGroup(pid);
    options.groups?.add(pid);
  }
  return child;
}

/** Runs a command to completion; on timeout its process group is killed and the promise rejects. */
export function runCommand(command: string, args: string[], options: RunOptions): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = startGroup(command, args, options);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) void killGroup(child.pid, 0);
      reject(new Error(`${command} ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // The leader is done; make sure nothing it started lingers.
      if (child.pid !== undefined) void killGroup(child.pid, 0);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A long-running child (n8n start) with its output so far. */
export interface Daemon {
  pid: number;
  output(): string;
  running(): boolean;
}

export function startDaemon(command: string, args: string[], options: RunOptions): Daemon {
  const child = startGroup(command, args, options);
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let running = true;
  child.on('close', () => (running = false));
  return { pid: child.pid, output: () => output, running: () => running };
}

/**
 * Ends a process group: SIGTERM (n8n shuts down gracefully on it), then SIGKILL for whatever is
 * left after `graceMs`. Resolves when no process of the group remains.
 */
export async function killGroup(pid: number, graceMs = 10_000): Promise<void> {
  if (!liveGroups.has(pid)) return;
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupAlive(pid) && Date.now() < deadline) await sleep(100);
  signalGroup(pid, 'SIGKILL');
  // Bounded: an unreaped zombie would still answer signal 0.
  const killDeadline = Date.now() + 5_000;
  while (groupAlive(pid) && Date.now() < killDeadline) await sleep(50);
  liveGroups.delete(pid);
  forgetGroup(pid);
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
