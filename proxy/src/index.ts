/**
 * The proxy as a library: what the `secure-proxy` command is built from, for programs that
 * embed the proxy (the repository's dev mode, tests, the bench). The command line is `cli.ts`.
 */
export { createProxyApp, type ProxyApp, type ProxyAppOptions } from './app/app';
export { runProxy, type RunningProxy, type RunOptions } from './app/run';
export { buildConfig, loadConfigFile, parseConfigText } from './config/load';
export { ConfigError } from './config/errors';
export type { ProxyConfig, ProxyConfigInput, ServiceConfig } from './config/schema';
export { generateToken, hashToken, type GeneratedToken } from './auth/token-format';
export { ERROR_CODES, type ErrorCode, type ErrorSource } from './contract/contract';
