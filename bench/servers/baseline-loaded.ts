/**
 * The yardstick with the proxy's modules loaded and left unused (`BENCH_BASELINE=loaded`): the
 * same pass-through as baseline.ts, in a process whose heap also holds everything the proxy's
 * process loads (winston, prom-client, node-vault with axios, zod, yaml, the proxy's own
 * modules and its command line; express and http-proxy-middleware both have anyway). Against it, a ratio shows
 * what the proxy's per-request work costs, without what its larger heap adds to every full
 * garbage collection (see the README's "The 1 MiB cases: garbage collection").
 */
import { appModule, appSwitchModule, cliModule, configModule, loggerModule, metricsModule, redactionModule, serverModule } from '../lib/proxy-dist.ts';

// Kept reachable for the life of the process, as the proxy's own process keeps them.
const loaded = [cliModule(), appModule(), appSwitchModule(), configModule(), loggerModule(), metricsModule(), redactionModule(), serverModule()];
Object.defineProperty(globalThis, Symbol.for('bench.loadedProxyModules'), { value: loaded });

await import('./baseline.ts');
