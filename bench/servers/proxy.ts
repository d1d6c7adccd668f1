/**
 * The real proxy, as built (`proxy/dist`), in its own process: `createProxyApp` behind the
 * app switch on the listener runProxy opens (the config's limits), its Vault session pointed at the runner's emulator, and
 * the production logger (redaction, audit line per request) writing to a null stream so
 * the measured cost is producing the lines, not a terminal's speed.
 */
import { Writable } from 'node:stream';
import type { ProxyConfigInput } from '../../proxy/src/config/schema.js';
import { runChild, settings } from '../lib/child.ts';
import { appModule, appSwitchModule, cliModule, configModule, loggerModule, metricsModule, redactionModule, serverModule } from '../lib/proxy-dist.ts';

export interface ProxySettings {
  config: ProxyConfigInput;
}

const { config: raw } = settings<ProxySettings>();

// A production proxy runs from the command line's module (`secure-proxy serve`), so its heap
// also holds what that module loads (commander, the commands' definitions), which every full
// garbage collection marks. Loaded here and left unused (the module cache keeps it), for the same heap.
cliModule();

await runChild(async () => {
  const config = configModule().buildConfig(raw, {}, 'bench');
  let lines = 0;
  const devnull = new Writable({
    decodeStrings: false,
    // The lines of one event-loop turn arrive in one write: count the lines, not the writes.
    write(chunk: string, _encoding, done) {
      for (let at = chunk.indexOf('\n'); at !== -1; at = chunk.indexOf('\n', at + 1)) lines += 1;
      done();
    },
  });
  const redactor = new (redactionModule().SecretRedactor)();
  const logger = loggerModule().createLogger({
    level: config.logging.level,
    redactor,
    // The production default transport (a line per write), pointed at the null stream.
    transports: [new (loggerModule().LineTransport)(devnull)],
  });
  // Metrics as runProxy builds them: with the process and Node.js collectors, as in production.
  const metrics = metricsModule().createMetrics(null);
  const proxy = appModule().createProxyApp(config, { logger, redactor, metrics });
  await proxy.start();
  // The listener as runProxy opens it: the app switch in front (a reload's seam) and the config's limits.
  const appSwitch = appSwitchModule().createAppSwitch(proxy);
  const { server, url } = await serverModule().listen(appSwitch.handler, config.listen.host, config.listen.port, undefined, {
    headersTimeoutMs: config.listen.headersTimeoutMs,
    maxHeaderBytes: config.listen.maxHeaderBytes,
    maxConnections: config.listen.maxConnections,
    keepAliveTimeoutMs: config.listen.keepAliveTimeoutMs,
    onClientError: (record) => void proxy.events.emit('client:error', record),
    onConnectionDropped: (remoteAddress) => void proxy.events.emit('connection:dropped', { remoteAddress }),
  });
  return {
    url,
    setLogLevel: (level) => {
      logger.level = level;
    },
    logLines: () => lines,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await proxy.stop();
    },
  };
});
