/**
 * The environment of every n8n process the harness starts. Nothing is inherited but PATH (with
 * the tests' Node.js first: n8n starts its task runner as `node`), so the machine's N8N_* or
 * proxy settings cannot leak in.
 */
import { pathWithNode } from './locate';

export interface N8nEnvironmentSettings {
  /** N8N_USER_FOLDER, also HOME. */
  userFolder: string;
  encryptionKey: string;
  /** N8N_PORT: the HTTP server of `n8n start`, on 127.0.0.1. */
  port: number;
  /** N8N_RUNNERS_BROKER_PORT: each n8n process needs its own (the default 5679 would clash). */
  brokerPort: number;
  /** Added last, so they override the rest. */
  extra?: Record<string, string>;
}

export function n8nEnvironment(settings: N8nEnvironmentSettings): NodeJS.ProcessEnv {
  return {
    PATH: pathWithNode(),
    HOME: settings.userFolder,
    TZ: 'UTC',
    GENERIC_TIMEZONE: 'UTC',
    NO_COLOR: '1',
    N8N_USER_FOLDER: settings.userFolder,
    DB_TYPE: 'sqlite',
    N8N_ENCRYPTION_KEY: settings.encryptionKey,
    N8N_LISTEN_ADDRESS: '127.0.0.1',
    N8N_PORT: String(settings.port),
    N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
    N8N_RUNNERS_BROKER_PORT: String(settings.brokerPort),
    N8N_LOG_LEVEL: 'info', // `n8n execute` prints the run data only at info or more verbose
    N8N_LOG_OUTPUT: 'console',
    N8N_SECURE_COOKIE: 'false', // plain http on loopback
    N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'true',
    N8N_GRACEFUL_SHUTDOWN_TIMEOUT: '10',
    // The default expression engine ('vm', isolated-vm) still evaluates every expression, but
    // takes its isolate on first use instead of at boot: with the boot-time isolate, n8n 2.41.1
    // on Node 24 segfaulted in that isolate's thread while `n8n execute` exited (exit code 139
    // after printing a successful run; 10 of 15 runs with a community package installed, 0 of 40
    // with this setting).
    N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true',
    N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
    N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
    // Offline and quiet: no telemetry, update checks, templates, banners, license renewal, AI.
    N8N_DIAGNOSTICS_ENABLED: 'false',
    N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
    N8N_TEMPLATES_ENABLED: 'false',
    N8N_PERSONALIZATION_ENABLED: 'false',
    N8N_DYNAMIC_BANNERS_ENABLED: 'false',
    N8N_HIRING_BANNER_ENABLED: 'false',
    N8N_LICENSE_AUTO_RENEW_ENABLED: 'false',
    N8N_AI_ENABLED: 'false',
    N8N_DISABLED_MODULES: 'mcp-registry', // its start-up task fetches api.n8n.io
    ...settings.extra,
  };
}
