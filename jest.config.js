/**
 * Unit and integration tests (`npm test`): everything under test/ but test/e2e, whose suites
 * need a real n8n and run with jest.e2e.config.js (`npm run test:e2e`).
 * ts-jest only transpiles (isolatedModules in tsconfig.test.json);
 * `npm run typecheck` does the type checking once for the whole tree.
 *
 * The few ESM-only dependencies (ESM_ONLY) are transpiled to CommonJS like our own sources, so
 * jest needs no --experimental-vm-modules: with that flag no test file's module graph was ever
 * collected (about 3 MB for an empty test file, far more for one that loads the proxy), workers
 * grew to 500-700 MiB, and tearing one down could outlast jest's 500 ms grace at the end of a
 * run ("A worker process has failed to exit gracefully").
 * A new ESM-only dependency fails with "Must use import to load ES Module": add it here.
 */
const ESM_ONLY = ['http-proxy-middleware', 'oauth4webapi', 'httpxy', 'is-plain-obj', 'p-retry', 'is-network-error', 'pretty-ms', 'parse-ms', 'commander'];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
    '^.+\\.m?js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'es2023', esModuleInterop: true, isolatedModules: true } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  // Dev mode imports the proxy by its package name; tests use the proxy's sources, one module instance.
  moduleNameMapper: { '^n8n-secure-proxy$': '<rootDir>/proxy/src/index.ts' },
  // A deadline for a hung test, not a pace: suites start child processes and TLS servers, and
  // must pass on a machine busy with other work (two suites at once, a build beside them).
  testTimeout: 60000,
  // Each test file starts its own loopback servers; two workers fit a 2-core machine.
  maxWorkers: 2,
};
