/**
 * Defaults of config fields that code outside the config module also needs (a listener
 * created without a config, a service whose limit is absent). They live here so that the
 * config module depends on nothing it configures: every other module imports them from here.
 */

/** `services.<name>.maxBodyBytes` when the config leaves it out: 10 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** `listen.bodyTimeoutMs` when the config leaves it out. */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

/** `listen.headersTimeoutMs` when the config leaves it out. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 20_000;

/** `listen.maxHeaderBytes` when the config leaves it out: 32 KiB. */
export const DEFAULT_MAX_HEADER_BYTES = 32 * 1024;

/** `listen.maxConnections` when the config leaves it out: client connections open at once; more are refused at accept. */
export const DEFAULT_MAX_CONNECTIONS = 4096;

/** `listen.keepAliveTimeoutMs` when the config leaves it out: longer than the 60 s idle timeout of common load balancers, so they close first. */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 65_000;
