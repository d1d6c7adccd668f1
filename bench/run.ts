/**
 * `npm run bench`: the proxy's hot path against a bare express + http-proxy-middleware
 * pass-through (the baseline) and against the upstream itself (direct), in the same run.
 *
 * Processes: this runner (autocannon, and the Vault emulator, idle once the proxy's cache is
 * warm), the upstream, the baseline and the proxy, each forked on its own so the load
 * generator does not share an event loop with a server under test. Cases run interleaved,
 * round by round (order reversed every other round), the small requests' rounds before the
 * 1 MiB cases' rounds (see Case.phase), then the large-body check on servers of its own; the
 * report shows medians, ratios with their per-round spread, CPU time per request (steadier than req/s on a shared machine), and
 * memory before and after.
 *
 * Exits 1 when any request failed (connection error, timeout, non-2xx), a sanity request did
 * not get the expected answer, a body did not stream or a large one arrived wrong
 * (lib/streaming.ts), or the warm proxy called Vault more than its cache refresh allows during
 * a measured run. Slow ratios and memory targets (PASS/MISS) are reported, never failed on.
 *
 * Environment: BENCH_SECONDS (measured seconds per run, default 3), BENCH_ROUNDS (default 5),
 * BENCH_WARMUP (discarded seconds per server at start, default 3), BENCH_CONNECTIONS (default 32),
 * BENCH_MALLOC=default (the system's adaptive malloc thresholds for the compared servers; see lib/malloc.ts),
 * BENCH_BASELINE=loaded (the baseline with the proxy's modules loaded, unused; see servers/baseline-loaded.ts)
 * or proxy (a second proxy process in the baseline's place: an A/A run; BENCH_BASELINE_DIST=<a dist
 * folder> makes that one another build).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { ProxyConfigInput } from '../proxy/src/config/schema.js';
import { buildCases, FIXED_RATE, LARGE_BODY_BYTES, sanityCheck, type Case, type ServerName } from './lib/cases.ts';
import { startServer, type ServerProcess } from './lib/children.ts';
import { STEADY_MALLOC, STEADY_MALLOC_TUNABLES } from './lib/malloc.ts';
import { drive, type RunResult } from './lib/load.ts';
import { measure, type Measurement } from './lib/measure.ts';
import type { MemorySample } from './lib/protocol.ts';
import { pin } from './lib/pinning.ts';
import { PROXY_DIST_ENV, tokensModule } from './lib/proxy-dist.ts';
import { largeBodyTable, memoryTable, ratioTable, resultsTable, type CaseRuns } from './lib/report.ts';
import {
  checkLargeBodies,
  checkStreaming,
  describeStreaming,
  largeBodyVerdicts,
  LARGE_PROBE_BYTES,
  LARGE_PROBE_MIB,
  LIVE_GROWTH_TARGET_MIB,
  RSS_GROWTH_TARGET_MIB,
  type LargeBodyResult,
  type StreamingResult,
} from './lib/streaming.ts';
import { N8N_ITEMS, runN8nWorkflow, type N8nResult } from './lib/n8n.ts';
import { addedLatencyTarget, cpuTarget, targetsTable, throughputTarget, type TargetRow } from './lib/targets.ts';
import { startSeededVault } from './lib/vault.ts';

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

/** `npm run bench:smoke` (CI): every case for a second, one round, 64 MiB large bodies; fails on the same things, never on a target. */
const SMOKE = process.env.BENCH_SMOKE === '1';
/** The real-n8n workflow case (lib/n8n.ts): on unless BENCH_N8N=0; never in smoke mode (n8n boots for tens of seconds). */
const N8N = !SMOKE && process.env.BENCH_N8N !== '0';
const SECONDS = numberFromEnv('BENCH_SECONDS', SMOKE ? 1 : 3);
const ROUNDS = Math.round(numberFromEnv('BENCH_ROUNDS', SMOKE ? 1 : 5));
const WARMUP = numberFromEnv('BENCH_WARMUP', SMOKE ? 1 : 3);
const CONNECTIONS = Math.round(numberFromEnv('BENCH_CONNECTIONS', 32));
/**
 * Which yardstick: the bare pass-through; the same with the proxy's modules loaded
 * (servers/baseline-loaded.ts); or the proxy itself, a second process of the same build and
 * config (an A/A run: its ratios show what the bench's own setup adds, since the code is the same).
 */
type BaselineKind = 'bare' | 'loaded' | 'proxy';
const BASELINE = baselineKind(process.env.BENCH_BASELINE);

/**
 * BENCH_BASELINE_DIST: with BENCH_BASELINE=proxy, the second proxy runs this build (a `dist`
 * folder) instead of proxy/dist: two builds side by side in one run.
 */
const BASELINE_DIST = baselineDist(process.env.BENCH_BASELINE_DIST);

function baselineDist(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  if (BASELINE !== 'proxy') throw new Error('BENCH_BASELINE_DIST needs BENCH_BASELINE=proxy');
  if (!existsSync(join(raw, 'app', 'app.js'))) throw new Error(`BENCH_BASELINE_DIST: ${raw} holds no built proxy (app/app.js)`);
  return resolve(raw);
}

function baselineKind(raw: string | undefined): BaselineKind {
  if (raw === undefined || raw === '' || raw === 'bare') return 'bare';
  if (raw === 'loaded' || raw === 'proxy') return raw;
  throw new Error(`BENCH_BASELINE must be "bare", "loaded" or "proxy", got "${raw}"`);
}
/** Discarded run before every measured one: refills keep-alive pools after the case switch. */
const PREWARM = 0.5;
const SECRET_PATH = 'bench/upstream';
/** Above this much CPU used by other processes (in % of one CPU), the report warns that its numbers are noisy. */
const NOISY_OTHER_LOAD_PCT = 25;
/** The baseline's slowest round over its fastest beyond which the machine's speed, not the code, moved the figures. */
const SPEED_DRIFT_RATIO = 1.3;
/** The proxy's default; a background refresh starts at 85 % of it. */
const CACHE_TTL_SECONDS = 60;

interface Failure {
  where: string;
  what: string;
}

const failures: Failure[] = [];

function noteFailures(where: string, result: RunResult): void {
  if (result.errors > 0) failures.push({ where, what: `${result.errors} connection errors or timeouts` });
  if (result.non2xx > 0) failures.push({ where, what: `${result.non2xx} non-2xx responses ${JSON.stringify(result.badStatuses)}` });
}

function proxyConfig(vault: { url: string; rootToken: string }, upstreamUrl: string, token: { hash: string; id: string }): ProxyConfigInput {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    vault: { address: vault.url, auth: { method: 'token', token: vault.rootToken }, kvMount: 'secret' },
    cache: { ttlSeconds: CACHE_TTL_SECONDS },
    logging: { level: 'info' },
    clients: { bench: { tokenHashes: [{ hash: token.hash, id: token.id }], services: ['api', 'bulk'] } },
    services: {
      api: { target: `${upstreamUrl}/base`, secret: SECRET_PATH, inject: { type: 'bearer', field: 'token' } },
      // The large-body check: the same upstream, with room for its upload (api keeps the default limit).
      // The upstream answers an upload once it has all of it: a 1 GiB body on a busy machine takes longer than the default 30 s header timeout.
      bulk: {
        target: `${upstreamUrl}/base`,
        secret: SECRET_PATH,
        inject: { type: 'bearer', field: 'token' },
        maxBodyBytes: 2 * LARGE_PROBE_BYTES,
        timeoutMs: 600_000,
      },
    },
  };
}

function printRun(round: number, c: Case, m: Measurement): void {
  const load = m.otherLoadPct === null ? '' : `  other load ${m.otherLoadPct.toFixed(0)}%`;
  const helpers = m.serverV8HelperUs === null ? '' : ` (V8 helpers ${m.serverV8HelperUs.toFixed(0)})`;
  console.log(
    `  round ${round} ${c.label.padEnd(25)} ${m.requestsPerSecond.toFixed(0).padStart(6)} req/s  p99 ${m.p99Ms.toFixed(1).padStart(6)} ms  ` +
      `${m.serverCpuUs.toFixed(0).padStart(5)} us CPU/req${helpers}  ${m.serverPageFaults.toFixed(1)} faults/req${load}`,
  );
}

/** The large-body check of one server. */
interface LargeBodies {
  server: 'proxy' | 'baseline';
  scrubs: boolean;
  results: LargeBodyResult[];
}

function summary(
  caseRuns: readonly CaseRuns[],
  memory: Record<'start' | 'end', Record<'baseline' | 'proxy', MemorySample>>,
  streaming: Record<'baseline' | 'proxy', StreamingResult>,
  largeBodies: readonly LargeBodies[],
  vaultAllowed: number,
  n8n: N8nRun | null,
): string {
  const get = (id: string): CaseRuns => caseRuns.find((c) => c.id === id) as CaseRuns;
  const proxyRuns = caseRuns.filter((c) => c.id.includes('proxy')).flatMap((c) => c.runs);
  const vaultCalls = proxyRuns.reduce((n, r) => n + r.vaultCalls, 0);
  const proxied = proxyRuns.reduce((n, r) => n + r.requests, 0);
  const linesPerRequest = caseRuns
    .filter((c) => c.id.includes('proxy'))
    .map((c) => {
      const lines = c.runs.reduce((n, r) => n + r.logLines, 0);
      const requests = c.runs.reduce((n, r) => n + r.requests, 0);
      return `${c.id} ${(lines / Math.max(1, requests)).toFixed(3)}`;
    });
  return [
    '',
    `Results (median of ${ROUNDS} rounds; errors and non-2xx summed over all rounds, warm-up included in the failure check):`,
    resultsTable(caseRuns),
    '',
    'Ratios: the median of the ratios within each round; "(rounds)" is their range, min-max.',
    'req/s: higher is better. p99 and CPU/req (CPU time of the server under test per request): lower is better.',
    ratioTable([
      { label: 'proxy (info) / baseline', numerator: get('proxy-info'), denominator: get('baseline') },
      { label: 'proxy (info) / direct', numerator: get('proxy-info'), denominator: get('direct') },
      { label: 'proxy (warn) / baseline', numerator: get('proxy-warn'), denominator: get('baseline') },
      { label: 'proxy (info) / proxy (warn)', numerator: get('proxy-info'), denominator: get('proxy-warn') },
      { label: 'baseline / direct', numerator: get('baseline'), denominator: get('direct') },
      { label: '1 MiB POST proxy / baseline', numerator: get('upload-proxy'), denominator: get('upload-baseline') },
      { label: '1 MiB GET  proxy / baseline', numerator: get('download-proxy'), denominator: get('download-baseline') },
    ]),
    '',
    `Memory in MiB (heap after a full GC; peak rss over the whole run, with ${CONNECTIONS} x 1 MiB bodies in flight):`,
    memoryTable([
      { name: 'baseline', start: memory.start.baseline, end: memory.end.baseline },
      { name: 'proxy', start: memory.start.proxy, end: memory.end.proxy },
    ]),
    peakGrowth(memory),
    `Streaming check, ${describeStreaming('proxy', streaming.proxy)}`,
    `Streaming check, ${describeStreaming('baseline', streaming.baseline)}`,
    '',
    `Large bodies: one ${LARGE_PROBE_BYTES / (1024 * 1024)} MiB body each way, nothing else running; growth in MiB over the start of the transfer,`,
    `sampled every 50 ms after a full GC. Targets: live (heap + Buffers) < ${LIVE_GROWTH_TARGET_MIB} MiB, rss < ${RSS_GROWTH_TARGET_MIB} MiB;`,
    `a server that held the body would miss both. ${BASELINE === 'proxy' ? 'The baseline is a second proxy (an A/A run) and scrubs too.' : 'The baseline does not scrub; its rows are the yardstick.'}`,
    largeBodyTable(largeBodies.flatMap(({ server, scrubs, results }) => results.map((result) => ({ server, scrubs, result })))),
    '',
    `Vault calls during measured proxy runs: ${vaultCalls} for ${proxied} proxied requests (cache TTL ${CACHE_TTL_SECONDS} s).`,
    `Log lines per request: ${linesPerRequest.join(', ')}.`,
    ...noiseWarning(caseRuns),
    ...n8nLines(n8n),
    '',
    `Targets (${ROUNDS} interleaved rounds of this run; ratios are medians of the per-round ratios; PASS/MISS is reported, never failed on):`,
    targetsTable(targets(get, largeBodies, { calls: vaultCalls, requests: proxied, allowed: vaultAllowed }, n8n?.result ?? null)),
  ].join('\n');
}

/** Every target of the proxy's performance, measured in this run (README.md explains each). */
function targets(
  get: (id: string) => CaseRuns,
  largeBodies: readonly LargeBodies[],
  vault: { calls: number; requests: number; allowed: number },
  n8n: N8nResult | null,
): TargetRow[] {
  const proxyLarge = largeBodies.find((l) => l.server === 'proxy')?.results ?? [];
  const large = proxyLarge.map((r): TargetRow => {
    const growth = r.watch.peakRss - r.watch.startRss;
    return {
      target: `${LARGE_PROBE_MIB} MiB ${r.direction}${r.direction === 'download' ? ' (scrubbed)' : ''}: rss growth`,
      goal: `<= ${RSS_GROWTH_TARGET_MIB} MiB`,
      measured: `${growth.toFixed(1)} MiB${r.problem === null ? '' : ' (transfer failed)'}`,
      verdict: growth <= RSS_GROWTH_TARGET_MIB && r.problem === null ? 'PASS' : 'MISS',
    };
  });
  const per10k = (vault.calls / Math.max(1, vault.requests)) * 10_000;
  const againstBaseline = [
    throughputTarget('small GET, every feature on', get('proxy-info'), get('baseline'), 0.9),
    cpuTarget('small GET, every feature on', get('proxy-info'), get('baseline'), 1.2),
    throughputTarget('small GET (aim)', get('proxy-info'), get('baseline'), 1.0),
    throughputTarget('1 MiB JSON GET, scrubbed', get('download-proxy'), get('download-baseline'), 0.9),
    throughputTarget('1 MiB POST', get('upload-proxy'), get('upload-baseline'), 0.95),
  ];
  return [
    // The targets are set against the bare pass-through; against another yardstick the ratios are a diagnosis.
    ...(BASELINE === 'bare'
      ? againstBaseline
      : againstBaseline.map((row): TargetRow => ({ ...row, goal: `${row.goal} (${BASELINE} baseline)`, verdict: 'NOT RUN' }))),
    addedLatencyTarget('p50', get('rate-proxy'), get('rate-direct'), 1, FIXED_RATE),
    addedLatencyTarget('p99', get('rate-proxy'), get('rate-direct'), 5, FIXED_RATE),
    ...large,
    {
      target: 'Vault calls per 10,000 requests',
      goal: `only TTL refreshes (<= ${vault.allowed} in this run)`,
      measured: `${per10k.toFixed(2)} (${vault.calls} calls, ${vault.requests} requests)`,
      verdict: vault.calls <= vault.allowed ? 'PASS' : 'MISS',
    },
    n8nTarget(n8n),
  ];
}

/** The n8n workflow target: the Secure Proxy Request node against n8n's HTTP Request node, wall time of one execution. */
function n8nTarget(result: N8nResult | null): TargetRow {
  const target = `n8n: ${N8N_ITEMS} items, Secure Proxy Request vs HTTP Request`;
  if (result === null)
    return { target, goal: '<= 1.25x wall time', measured: N8N ? 'failed (see above)' : 'skipped (smoke mode or BENCH_N8N=0)', verdict: 'NOT RUN' };
  return {
    target,
    goal: '<= 1.25x wall time',
    // The median of the per-pair ratios, with each pair's: medians of each side alone may pair a slow execution with a fast one.
    measured: `${result.ratio.toFixed(2)}x (pairs ${result.pairs.map((p) => (p.proxyMs / p.directMs).toFixed(2)).join(', ')})`,
    verdict: result.ratio <= 1.25 ? 'PASS' : 'MISS',
  };
}

/** The n8n case and what the proxy spent on it. */
interface N8nRun {
  result: N8nResult;
  /** CPU time of the proxy process per proxied request while the workflow ran (n8n's boot included, idle then). */
  proxyCpuUsPerRequest: number;
  logLines: number;
}

async function measureN8n(proxy: ServerProcess, inputs: Parameters<typeof runN8nWorkflow>[0]): Promise<N8nRun> {
  await proxy.setLogLevel('info');
  const before = await proxy.stats();
  const result = await runN8nWorkflow(inputs);
  const after = await proxy.stats();
  const requests = result.pairs.length * N8N_ITEMS;
  return { result, proxyCpuUsPerRequest: (after.cpuMicros - before.cpuMicros) / requests, logLines: after.logLines - before.logLines };
}

function n8nLines(n8n: N8nRun | null): string[] {
  if (n8n === null) return [];
  const { result } = n8n;
  const pairs = result.pairs.map((p, i) => `pair ${i + 1}: direct ${p.directMs} ms, proxy ${p.proxyMs} ms`).join('; ');
  const perItemProxy = (result.proxySeconds * 1000) / N8N_ITEMS;
  const perItemDirect = (result.directSeconds * 1000) / N8N_ITEMS;
  return [
    '',
    `n8n workflow, ${N8N_ITEMS} items per node (node executionTime, alternating executions): ${pairs}.`,
    `Per item: HTTP Request ${perItemDirect.toFixed(2)} ms, Secure Proxy Request ${perItemProxy.toFixed(2)} ms; ` +
      `the proxy process spent ${n8n.proxyCpuUsPerRequest.toFixed(0)} us of CPU per request (${n8n.logLines} audit lines; n8n's boots, while it idled, included), the rest of the Secure Proxy Request node's time is n8n's own work and the hops.`,
  ];
}

/** How much the peak grew over the start, side by side: a hint only, garbage buffers come and go with GC timing. */
function peakGrowth(memory: Record<'start' | 'end', Record<'baseline' | 'proxy', MemorySample>>): string {
  const growth = (name: 'baseline' | 'proxy'): number => memory.end[name].maxRss - memory.start[name].rss;
  const extra = growth('proxy') - growth('baseline');
  const inFlight = (CONNECTIONS * LARGE_BODY_BYTES) / (1024 * 1024);
  return (
    `Peak rss growth: proxy ${growth('proxy').toFixed(0)} MiB, baseline ${growth('baseline').toFixed(0)} MiB (difference ${extra.toFixed(0)} MiB, ` +
    `noisy; the bodies in flight total ${inFlight} MiB). The streaming check is the direct evidence:`
  );
}

/** Other jobs on the machine move req/s and latency far more than anything measured here: say so. */
function noiseWarning(caseRuns: readonly CaseRuns[]): string[] {
  const lines = [...otherLoadNote(caseRuns), ...speedDriftNote(caseRuns)];
  return lines.length === 0 ? [] : ['', ...lines];
}

function otherLoadNote(caseRuns: readonly CaseRuns[]): string[] {
  const loads = caseRuns.flatMap((c) => c.runs.map((r) => r.otherLoadPct)).filter((v): v is number => v !== null);
  if (loads.length === 0) return [];
  const worst = Math.max(...loads);
  if (worst < NOISY_OTHER_LOAD_PCT) return [];
  return [
    `NOTE: processes outside the bench used up to ${worst.toFixed(0)}% of a CPU during measured runs; req/s and latency are noisy,`,
    'compare the "(rounds)" ranges and CPU/req, or run again on a quiet machine (more BENCH_ROUNDS narrow the medians).',
  ];
}

/**
 * A virtual machine's speed can move with its host's load while nothing else runs in it: the
 * same server's CPU per request then changes between rounds, which the other-load figure does
 * not see. The baseline's small GET does the same work in every round, so its spread shows it.
 */
function speedDriftNote(caseRuns: readonly CaseRuns[]): string[] {
  const cpu = caseRuns.find((c) => c.id === 'baseline')?.runs.map((r) => r.serverCpuUs) ?? [];
  if (cpu.length < 2) return [];
  const [fastest, slowest] = [Math.min(...cpu), Math.max(...cpu)];
  if (slowest < fastest * SPEED_DRIFT_RATIO) return [];
  return [
    `NOTE: the machine's speed moved during the run: the baseline's CPU per small GET ranged ${fastest.toFixed(0)}-${slowest.toFixed(0)} us across rounds;`,
    'absolute figures and medians across rounds move with it, ratios within a round much less: read the "(rounds)" ranges.',
  ];
}

async function main(): Promise<number> {
  const upstreamAuthorization = `Bearer ${randomBytes(24).toString('base64url')}`;
  const proxyToken = tokensModule().generateToken();
  // Plus the streaming and large-body checks: a few seconds each on a quiet machine.
  // Plus 1 GiB each way through two servers, about a minute each on 2 busy cores.
  const plannedSeconds = (PREWARM + SECONDS) * 10 * ROUNDS + WARMUP * 2 + 15 + (LARGE_PROBE_MIB / 1024) * 240 + (N8N ? 600 : 0);
  const lifetimeMs = (plannedSeconds + 120) * 1000;
  // A hard stop for the runner too; the servers stop themselves when it goes.
  setTimeout(() => {
    console.error(`bench: still running after ${lifetimeMs / 1000} s; giving up`);
    process.exit(2);
  }, lifetimeMs).unref();
  console.log(
    `secure-proxy bench: ${ROUNDS} rounds x ${SECONDS} s measured (+${PREWARM} s discarded each), ${WARMUP} s warm-up, ` +
      `${CONNECTIONS} connections, ${availableParallelism()} CPUs, Node ${process.version}, load average ${loadAverage()}; about ${Math.ceil(plannedSeconds)} s`,
  );

  const vault = await startSeededVault(SECRET_PATH, { token: upstreamAuthorization.slice('Bearer '.length) });
  const servers: ServerProcess[] = [];
  try {
    const upstream = await startServer('upstream', 'upstream.ts', { authorization: upstreamAuthorization, largeBodyBytes: LARGE_BODY_BYTES }, lifetimeMs);
    servers.push(upstream);
    // The servers under test; the large-body check starts a second pair of the same.
    // The compared pair runs with the same fixed malloc thresholds (lib/malloc.ts); the pair
    // the large-body check starts keeps the system's, as a deployment would.
    const startProxy = (name: string, steadyMalloc = false, env?: Record<string, string>): Promise<ServerProcess> =>
      startServer(name, 'proxy.ts', { config: proxyConfig(vault, upstream.url, proxyToken) }, lifetimeMs, { steadyMalloc, env });
    const startBaseline = (name: string, steadyMalloc = false): Promise<ServerProcess> =>
      BASELINE === 'proxy'
        ? startProxy(name, steadyMalloc, BASELINE_DIST === null ? undefined : { [PROXY_DIST_ENV]: BASELINE_DIST })
        : startServer(
            name,
            BASELINE === 'loaded' ? 'baseline-loaded.ts' : 'baseline.ts',
            { upstreamUrl: upstream.url, authorization: upstreamAuthorization },
            lifetimeMs,
            { steadyMalloc },
          );
    const baseline = await startBaseline('baseline', STEADY_MALLOC);
    servers.push(baseline);
    const proxy = await startProxy('proxy', STEADY_MALLOC);
    servers.push(proxy);
    const byName: Record<ServerName, ServerProcess> = { upstream, baseline, proxy };
    const pinned = [pin(baseline.pid, 'server under test'), pin(proxy.pid, 'server under test'), pin(upstream.pid, 'load side'), pin(process.pid, 'load side')];
    console.log(
      pinned.every(Boolean)
        ? `CPUs: the server under test on CPU 0, load generator, Vault emulator and upstream on the others (lib/pinning.ts).`
        : 'CPUs: not pinned (needs taskset and two CPUs); the scheduler places the processes, which adds noise to CPU per request.',
    );
    console.log(
      STEADY_MALLOC
        ? `malloc: both servers under test with ${STEADY_MALLOC_TUNABLES} (lib/malloc.ts; BENCH_MALLOC=default for the system's adaptive thresholds).`
        : `malloc: the system's adaptive thresholds (BENCH_MALLOC=default); the 1 MiB ratios then follow each process's allocation history (faults/req).`,
    );
    if (BASELINE === 'loaded')
      console.log(
        "baseline: the pass-through with the proxy's modules loaded and unused (BENCH_BASELINE=loaded): ratios show per-request work only, not targets.",
      );
    if (BASELINE === 'proxy')
      console.log(
        BASELINE_DIST === null
          ? 'baseline: a second proxy process, same build and config (BENCH_BASELINE=proxy): an A/A run, whose ratios are what the setup adds, not targets.'
          : `baseline: a second proxy process, same config, built from ${BASELINE_DIST} (BENCH_BASELINE_DIST): the ratios compare two builds, not targets.`,
      );
    const context = { servers, vaultRequests: () => vault.requests.length };

    const cases = buildCases({
      urls: { upstream: upstream.url, baseline: baseline.url, proxy: proxy.url },
      proxyToken: proxyToken.token,
      upstreamAuthorization,
      connections: CONNECTIONS,
    });
    failures.push(...(await sanityCheck(cases)));
    if (failures.length > 0) return finish();
    const streaming: Record<'baseline' | 'proxy', StreamingResult> = {
      baseline: await checkStreaming(baseline.url, { authorization: `Bearer ${proxyToken.token}` }, upstream.url, upstreamAuthorization),
      proxy: await checkStreaming(proxy.url, { authorization: `Bearer ${proxyToken.token}` }, upstream.url, upstreamAuthorization),
    };
    for (const [name, result] of Object.entries(streaming)) {
      if (!result.upload.streamed || !result.download.streamed) failures.push({ where: `streaming ${name}`, what: describeStreaming(name, result) });
    }
    const memoryStart = { baseline: await baseline.memory(), proxy: await proxy.memory() };

    // Discarded: JIT, keep-alive pools, and the proxy's secret cache (its one Vault read).
    const vaultWindowStart = performance.now();
    for (const c of cases.filter((x) => x.id === 'baseline' || x.id === 'proxy-info')) {
      if (c.logLevel) await proxy.setLogLevel(c.logLevel);
      noteFailures(`warm-up ${c.id}`, await drive(c.spec, WARMUP));
    }

    const runs = new Map<string, Measurement[]>(cases.map((c) => [c.id, []]));
    const runRounds = async (phase: readonly Case[]): Promise<void> => {
      for (let round = 1; round <= ROUNDS; round += 1) {
        for (const c of round % 2 === 1 ? phase : [...phase].reverse()) {
          const server = byName[c.server];
          if (c.logLevel) await server.setLogLevel(c.logLevel);
          noteFailures(`pre-run ${c.id}`, await drive(c.spec, PREWARM));
          const m = await measure(context, server, c.spec, SECONDS);
          noteFailures(`round ${round} ${c.id}`, m);
          runs.get(c.id)?.push(m);
          printRun(round, c, m);
        }
      }
    };
    // The small requests' rounds first, on processes that have moved no large body yet (see Case.phase).
    await runRounds(cases.filter((c) => c.phase === 'small'));

    await runRounds(cases.filter((c) => c.phase === 'large'));

    // The large-body check runs on servers of its own, started now and stopped after it: a
    // process that has moved megabytes keeps freed pages that would hide the rss one body needs,
    // and a gigabyte moved through the measured servers would slow the rounds after it.
    const secret = upstreamAuthorization.slice('Bearer '.length);
    const clientAuth = { authorization: `Bearer ${proxyToken.token}` };
    const largeChecks = [
      { server: 'proxy', start: () => startProxy('proxy-large'), path: '/forward/bulk', scrubs: true },
      // An A/A run checks its second proxy as the proxy is checked.
      {
        server: 'baseline',
        start: () => startBaseline('baseline-large'),
        path: BASELINE === 'proxy' ? '/forward/bulk' : '/forward/api',
        scrubs: BASELINE === 'proxy',
      },
    ] as const;
    const largeBodies: LargeBodies[] = [];
    for (const { server, start, path, scrubs } of largeChecks) {
      const checked = await start();
      pin(checked.pid, 'server under test');
      try {
        largeBodies.push({ server, scrubs, results: await checkLargeBodies(`${checked.url}${path}`, clientAuth, () => checked.watchMemory(), secret, scrubs) });
      } finally {
        await checked.stop();
      }
    }
    for (const { server, results } of largeBodies) {
      for (const r of results) if (r.problem !== null) failures.push({ where: `large ${r.direction} ${server}`, what: r.problem });
    }

    const memoryEnd = { baseline: await baseline.memory(), proxy: await proxy.memory() };

    const caseRuns: CaseRuns[] = cases.map((c) => ({ id: c.id, label: c.label, runs: runs.get(c.id) ?? [] }));
    // A window shorter than the cache's refresh interval holds at most one background refresh.
    const allowed = Math.ceil(SECONDS / (CACHE_TTL_SECONDS * 0.85));
    for (const c of caseRuns.filter((x) => x.id.includes('proxy'))) {
      c.runs.forEach((r, i) => {
        if (r.vaultCalls > allowed)
          failures.push({ where: `round ${i + 1} ${c.id}`, what: `${r.vaultCalls} Vault calls in one run (cache refreshes allow ${allowed})` });
      });
    }
    let n8n: N8nRun | null = null;
    if (N8N) {
      // n8n calls the upstream directly and through the proxy: no process keeps a CPU of its own for it.
      for (const pid of [proxy.pid, upstream.pid, process.pid]) pin(pid, 'anywhere');
      try {
        n8n = await measureN8n(proxy, { proxyUrl: proxy.url, proxyToken: proxyToken.token, upstreamUrl: upstream.url, upstreamAuthorization });
      } catch (err) {
        failures.push({ where: 'n8n workflow', what: err instanceof Error ? err.message : String(err) });
      }
    }
    // Steady state: one background refresh per 85 % of the TTL since the warm-up began, and no other call.
    const vaultAllowed = Math.floor((performance.now() - vaultWindowStart) / 1000 / (CACHE_TTL_SECONDS * 0.85)) + 1;
    console.log(summary(caseRuns, { start: memoryStart, end: memoryEnd }, streaming, largeBodies, vaultAllowed, n8n));
    return finish(largeBodies.find((l) => l.server === 'proxy')?.results ?? []);
  } finally {
    await Promise.allSettled(servers.map((s) => s.stop()));
    await vault.close();
  }
}

const startedAt = performance.now();

/** The machine's 1, 5 and 15 minute load averages: how shared it was (Linux; zeros elsewhere). */
function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** `proxyLargeBodies`: the proxy's large-body results, whose memory targets the last line reports. */
function finish(proxyLargeBodies: readonly LargeBodyResult[] = []): number {
  const took = `${((performance.now() - startedAt) / 1000).toFixed(0)} s (load average now ${loadAverage()})`;
  const verdicts = proxyLargeBodies.flatMap((r) => {
    const v = largeBodyVerdicts(r);
    return [`${r.direction} live ${v.live}`, `${r.direction} rss ${v.rss}`];
  });
  const targets = verdicts.length === 0 ? '' : ` Proxy memory targets: ${verdicts.join(', ')}.`;
  if (failures.length === 0) {
    console.log(`\nOK in ${took}: no errors, no non-2xx, no Vault call per request. (Speed ratios and memory targets are reported, not asserted.)${targets}`);
    return 0;
  }
  console.error(`\nFAILED after ${took}:${targets}`);
  for (const f of failures) console.error(`  ${f.where}: ${f.what}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('bench failed:', err);
    process.exit(1);
  },
);
