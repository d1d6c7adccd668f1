/**
 * The shape of one client's proxy token record in Vault KV (`<kvMount>/<tokenStore.path>/<client>`),
 * shared by the proxy that reads it and the `secure-proxy token` commands that write it.
 * Whatever comes out of Vault is validated here before anyone trusts it: a record that does
 * not match is refused as a whole, so that client fails closed.
 *
 * Unknown fields are kept (loose objects) so that a record written by a newer version keeps
 * them when an older CLI rewrites it.
 */
import { z } from 'zod';
import { isoDateTime, NAME_SHAPE, TOKEN_HASH_MESSAGE, TOKEN_HASH_SHAPE, TOKEN_ID_SHAPE } from '../../config/schema';
import { workflowRulesSchema } from '../../config/workflow-rules';

const storedTokenSchema = z.looseObject({
  /** The `<id>` of `spt_<id>_<secret>`: names the token in logs, whoami and the CLI. */
  id: z.string().regex(TOKEN_ID_SHAPE, 'must be 1-32 lower-case letters or digits'),
  hash: z.string().regex(TOKEN_HASH_SHAPE, TOKEN_HASH_MESSAGE),
  createdAt: isoDateTime,
  /** null: the token never expires. */
  expiresAt: isoDateTime.nullable(),
  /**
   * The lifetime the token was issued with, in seconds (null: never expires), so `token rotate`
   * issues the next one with the same. Records written before this field lack it.
   */
  ttlSeconds: z.number().positive('must be a positive number of seconds').nullable().optional(),
  /** Set by `token rotate` on an older token it cut to the grace period: when, and the id of the token that replaced it. */
  rotatedAt: isoDateTime.optional(),
  replacedBy: z.string().regex(TOKEN_ID_SHAPE, 'must be 1-32 lower-case letters or digits').optional(),
});

const recordSchema = z
  .looseObject({
    services: z.array(z.string().regex(NAME_SHAPE, 'must be a service name')),
    tokens: z.array(storedTokenSchema),
    /** Services this client may use only from the listed n8n workflow ids (as `clients.<id>.workflows` in the config). */
    workflows: workflowRulesSchema.optional(),
  })
  .superRefine((record, ctx) => {
    // A duplicated id makes `token revoke --id` ambiguous; a duplicated hash, which token is meant.
    const ids = new Set<string>();
    const hashes = new Set<string>();
    record.tokens.forEach((token, i) => {
      if (ids.has(token.id)) ctx.addIssue({ code: 'custom', path: ['tokens', i, 'id'], message: 'duplicate token id' });
      if (hashes.has(token.hash)) ctx.addIssue({ code: 'custom', path: ['tokens', i, 'hash'], message: 'duplicate token hash' });
      ids.add(token.id);
      hashes.add(token.hash);
    });
  });

/** One token of a client: only its hash, never the token. */
export type StoredToken = z.infer<typeof storedTokenSchema>;
/** A client's record: the services it may use and its tokens. */
export type TokenRecord = z.infer<typeof recordSchema>;

/** Either the record, or why it is refused (field paths and expectations, never a value). */
export type ParsedRecord = { ok: true; record: TokenRecord } | { ok: false; problems: string[] };

/** Validates what a KV read returned for one client. */
export function parseTokenRecord(raw: unknown): ParsedRecord {
  const result = recordSchema.safeParse(raw);
  if (result.success) return { ok: true, record: result.data };
  // Messages are ours or zod's generic ones; neither quotes the input, so no hash can leak into a log.
  return { ok: false, problems: result.error.issues.map((issue) => `${issue.path.join('.') || '(record)'}: ${issue.message}`) };
}

/** An empty record for a new client. */
export function emptyRecord(services: readonly string[]): TokenRecord {
  return { services: [...services], tokens: [] };
}
