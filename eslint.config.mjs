/**
 * n8n's own lint rules for community node packages: the config `n8n-node lint` uses
 * (@n8n/node-cli/eslint: typescript-eslint, @n8n/eslint-plugin-community-nodes,
 * eslint-plugin-n8n-nodes-base), limited to what the community package ships: the node,
 * the credential and package.json. The proxy workspace, tests and tooling are not part of
 * the package (and use Node APIs a community node may not). `n8n-node lint` itself is not
 * used: in strict mode it insists on an unmodified config that lints the whole repository.
 */
import { config } from '@n8n/node-cli/eslint';
import { globalIgnores } from 'eslint/config';

export default [
  globalIgnores(['dist/', 'proxy/', 'test/', 'bench/', 'scripts/', 'deploy/', 'docs/', 'coverage/', '.ci/', '*.js', '*.mjs', 'package-lock.json']),
  ...config,
];
