/**
 * Unit and integration tests (`npm test`): everything under test/ but test/e2e, whose suites
 * need a real n8n and run with jest.e2e.config.js (`npm run test:e2e`).
 * ts-jest only transpiles (isolatedModules in tsconfig.test.json);
 * `npm run typecheck` does the type checking once for the whole tree.
 * Node is started with --experimental-vm-modules (see package.json) so that jest can
 * require() ESM-only dependencies such as http-proxy-middleware 4.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
  },
  // Dev mode imports the proxy by its package name; tests use the proxy's sources, one module instance.
  moduleNameMapper: { '^n8n-secure-proxy$': '<rootDir>/proxy/src/index.ts' },
  // A deadline for a hung test, not a pace: suites start child processes and TLS servers, and
  // must pass on a machine busy with other work (two suites at once, a build beside them).
  testTimeout: 60000,
  // Each test file starts its own loopback servers; two workers fit a 2-core machine.
  maxWorkers: 2,
};
