/**
 * The runner side of the process protocol: forks a bench server, waits until it listens,
 * sends commands and awaits their answers, and stops it (killing it if it does not go).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { steadyMallocEnv } from './malloc.ts';
import { SETTINGS_ENV, type Command, type MemorySample, type MemoryWatch, type ProcessStats, type Report } from './protocol.ts';

const START_TIMEOUT_MS = 20_000;
const ANSWER_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** A running bench server process. */
export interface ServerProcess {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  stats(): Promise<ProcessStats>;
  /** Runs a full GC first (heap figures are what is retained). */
  memory(): Promise<MemorySample>;
  /** Starts sampling memory (after a full GC); the function it returns stops and reports. */
  watchMemory(): Promise<() => Promise<MemoryWatch>>;
  setLogLevel(level: string): Promise<void>;
  stop(): Promise<void>;
}

function nextReport(child: ChildProcess, name: string, timeoutMs: number): Promise<Report> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (report: Report): void => {
      cleanup();
      resolve(report);
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(new Error(`${name} exited (code ${code}, signal ${signal}) before answering`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${name} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function profileArgs(name: string): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir === undefined || dir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}.cpuprofile`];
}

/** How a server process is started. */
export interface StartOptions {
  /** Fixed malloc thresholds (see malloc.ts) for a server whose cost is compared; default false. */
  steadyMalloc?: boolean;
  /** More environment for this server alone. */
  env?: Record<string, string>;
}

/** Forks `bench/servers/<script>` with its settings and resolves once it listens. */
export async function startServer(
  name: string,
  script: string,
  serverSettings: unknown,
  lifetimeMs: number,
  options: StartOptions = {},
): Promise<ServerProcess> {
  const path = fileURLToPath(new URL(`../servers/${script}`, import.meta.url));
  const child = fork(path, [], {
    // --expose-gc: heap figures are read after a full collection, so they show what is retained.
    // The warning disabled is the one about test/support/byte-pattern.ts (see the README's "Run it").
    // BENCH_CPU_PROF=<dir>: each server writes a V8 CPU profile there when it stops (see profile-top.ts).
    execArgv: ['--expose-gc', '--disable-warning=MODULE_TYPELESS_PACKAGE_JSON', ...profileArgs(name)],
    env: {
      ...process.env,
      ...(options.steadyMalloc === true ? steadyMallocEnv() : {}),
      [SETTINGS_ENV]: JSON.stringify(serverSettings),
      BENCH_LIFETIME_MS: String(lifetimeMs),
      ...options.env,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await nextReport(child, name, START_TIMEOUT_MS).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  if (ready.type !== 'ready') {
    child.kill('SIGKILL');
    throw new Error(`${name} failed to start: ${ready.type === 'failed' ? ready.message : ready.type}`);
  }

  const ask = async (command: Command): Promise<Report> => {
    const answer = nextReport(child, name, ANSWER_TIMEOUT_MS);
    child.send(command);
    return answer;
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  return {
    name,
    url: ready.url,
    pid: child.pid ?? -1,
    async stats() {
      const answer = await ask({ type: 'stats' });
      if (answer.type !== 'stats') throw new Error(`${name} answered ${answer.type} to a stats request`);
      return answer.stats;
    },
    async memory() {
      const answer = await ask({ type: 'memory' });
      if (answer.type !== 'memory') throw new Error(`${name} answered ${answer.type} to a memory request`);
      return answer.memory;
    },
    async watchMemory() {
      const started = await ask({ type: 'memory-watch-start' });
      if (started.type !== 'ack') throw new Error(`${name} answered ${started.type} to a memory-watch start`);
      return async () => {
        const answer = await ask({ type: 'memory-watch-stop' });
        if (answer.type !== 'memory-watch') throw new Error(`${name} answered ${answer.type} to a memory-watch stop`);
        return answer.watch;
      };
    },
    async setLogLevel(level) {
      await ask({ type: 'log-level', level });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'stop' } satisfies Command);
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
