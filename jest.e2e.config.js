/**
 * End-to-end suites (`npm run test:e2e`, i.e. scripts/test-e2e.sh): test/e2e against a real n8n
 * (scripts/install-n8n.sh, found through $N8N_BIN). Every n8n CLI command boots n8n for 5–10 s,
 * hence the long per-test timeout; one worker, because each n8n wants most of a core while it boots.
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/e2e'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 120000,
  maxWorkers: 1,
  // One temp folder per run, and no n8n left running even when the run is interrupted.
  globalSetup: '<rootDir>/test/support/n8n/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/n8n/global-teardown.ts',
};
