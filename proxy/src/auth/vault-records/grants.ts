/**
 * Turns the raw records read from Vault into the clients the proxy will serve, deciding
 * which parts to trust. Pure: the directory does the reading, logging and swapping.
 *
 * The proxy admin owns the services and the static clients, so a record cannot add a
 * service the config does not define, nor take over a client the config file defines. A
 * record that does not validate is dropped whole: that client fails closed.
 */
import type { ClientTokens } from '../token-index';
import { NAME_SHAPE } from '../../config/schema';
import { workflowRuleProblems } from '../../config/workflow-rules';
import { compileWorkflowRules } from '../workflow-policy';
import { parseTokenRecord } from './record';

/** Something about one client's record worth telling the operator; `key` identifies it for log-once. */
export interface GrantProblem {
  key: string;
  /** What is wrong: a record name that is no client name, a client the config file defines, a malformed record, or services the config does not define. */
  kind: 'name' | 'static' | 'malformed' | 'services' | 'workflows';
  client: string;
  message: string;
  /** kind 'services': the service names the config does not define. */
  unknownServices?: readonly string[];
}

export interface GrantInput {
  /** Client names of the config file's `clients`. */
  staticClients: ReadonlySet<string>;
  /** Service names of the config. */
  knownServices: ReadonlySet<string>;
  /** Each client with a record, and the raw record (null: none, e.g. deleted). */
  records: ReadonlyArray<{ client: string; raw: unknown }>;
}

/** The clients to serve from Vault, and the problems found on the way. */
export function grantsFromRecords(input: GrantInput): { clients: ClientTokens[]; problems: GrantProblem[] } {
  const clients: ClientTokens[] = [];
  const problems: GrantProblem[] = [];
  for (const { client, raw } of input.records) {
    if (raw === null) continue;
    if (!NAME_SHAPE.test(client)) {
      problems.push({
        key: `name:${client}`,
        kind: 'name',
        client,
        message: 'the record name is not a valid client name (1-64 letters, digits, ".", "_" and "-"); ignored',
      });
      continue;
    }
    if (input.staticClients.has(client)) {
      problems.push({
        key: `static:${client}`,
        kind: 'static',
        client,
        message: 'the client is defined both in the config file and in Vault; the config file wins and the Vault record is ignored',
      });
      continue;
    }
    const parsed = parseTokenRecord(raw);
    if (!parsed.ok) {
      problems.push({
        key: `malformed:${client}:${parsed.problems.join('|')}`,
        kind: 'malformed',
        client,
        message: `the token record is malformed, so none of its tokens is accepted: ${parsed.problems.join('; ')}`,
      });
      continue;
    }
    const services = parsed.record.services.filter((service) => input.knownServices.has(service));
    const unknown = parsed.record.services.filter((service) => !input.knownServices.has(service));
    if (unknown.length > 0) {
      problems.push({
        key: `services:${client}:${unknown.join(',')}`,
        kind: 'services',
        client,
        unknownServices: unknown,
        message:
          `the token record names services this proxy does not define, ignored: ${unknown.join(', ')}; ` +
          `take them away with secure-proxy token ungrant --client ${client} --services ${unknown.join(',')}`,
      });
    }
    // Rules only narrow a grant, so one for a service the record does not grant changes nothing; still worth a line.
    const unusedRules = workflowRuleProblems(parsed.record.workflows, services).map((problem) => problem.service);
    if (unusedRules.length > 0) {
      problems.push({
        key: `workflows:${client}:${unusedRules.join(',')}`,
        kind: 'workflows',
        client,
        message: `the token record has workflow rules for services it does not grant, ignored: ${unusedRules.join(', ')}`,
      });
    }
    clients.push({
      clientId: client,
      services,
      workflows: compileWorkflowRules(parsed.record.workflows, 'token record'),
      tokens: parsed.record.tokens.map((token) => ({
        hash: token.hash,
        id: token.id,
        expiresAt: token.expiresAt === null ? null : new Date(token.expiresAt),
        // A mark without the replacing id (hand-written) still means the token was rotated.
        replacedBy: token.rotatedAt === undefined && token.replacedBy === undefined ? null : (token.replacedBy ?? 'a newer token'),
      })),
    });
  }
  return { clients, problems };
}
