/**
 * The example config that ships with the package (`examples/proxy.yaml`), for messages that
 * tell a user a config is needed. Resolved from this file, so the path is right in a clone
 * (sources or dist) and in an installed package alike.
 */
import { join } from 'node:path';

/** Absolute path of the commented example config. */
export const EXAMPLE_CONFIG = join(__dirname, '..', '..', 'examples', 'proxy.yaml');
