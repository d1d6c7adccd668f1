#!/usr/bin/env node
/**
 * Writes the config's JSON Schema (from the built zod schema) to schema/proxy-config.schema.json,
 * the file the package ships for editors. The proxy's build runs it after compiling;
 * `--check` only compares and exits 1 when the file is out of date, naming the command that
 * fixes it. The unit test test/unit/config/json-schema.test.ts makes the same comparison.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const packageDir = join(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const { configJsonSchema, CONFIG_JSON_SCHEMA_FILE } = require(join(packageDir, 'dist/config/json-schema.js'));

const file = join(packageDir, CONFIG_JSON_SCHEMA_FILE);
const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;

if (process.argv.includes('--check')) {
  let current = null;
  try {
    current = readFileSync(file, 'utf8');
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  if (current !== text) {
    console.error(`${CONFIG_JSON_SCHEMA_FILE} is out of date with src/config/schema.ts: run "npm run build --workspace proxy" and commit it`);
    process.exit(1);
  }
} else {
  // A build from the sources alone (the container image's build stage) has no schema/ folder yet.
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}
