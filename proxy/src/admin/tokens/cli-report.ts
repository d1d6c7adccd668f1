/**
 * What the token commands tell people on stderr (and the revoke lines on stdout, their
 * established contract): what was issued, revoked or granted, and for every change to an
 * existing client's record its services and tokens before → after. Ids, times and service
 * names only; never a token or a hash.
 */
import type { IssuedReport, RevokedReport, TtlSource } from './commands';
import { humanDuration } from './durations';
import { TokenAdminFailure } from './errors';
import { describeChange, type RecordChange } from './record-diff';
import type { GrantReport } from './service-grants';
import type { TokenSink } from './token-output';
import type { N8nSink } from '../n8n/sink';

/** One line for people, on stderr. */
export function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

function sayChange(change: RecordChange | null): void {
  if (change !== null) for (const line of describeChange(change)) say(line);
}

function sayNoCheckAndSet(checkedAndSet: boolean): void {
  if (!checkedAndSet) say('warning: the KV mount is version 1, which has no check-and-set; concurrent changes to this client could overwrite each other');
}

function ttlLine(ttl: TtlSource, expiresAt: string | null, createdAtMs: number): string | null {
  const lifetime = expiresAt === null ? 'no expiry' : `a lifetime of ${humanDuration(Date.parse(expiresAt) - createdAtMs)}`;
  switch (ttl.from) {
    case 'flag':
      return null;
    case 'default':
      return `the new token has ${lifetime}, the default: the client had no token to take the lifetime from (--ttl sets it)`;
    case 'stored':
    case 'span':
      return `the new token has ${lifetime}, as token ${ttl.tokenId} was issued with (--ttl sets another)`;
  }
}

/** Reports a created or rotated token; throws when n8n refused the new token after Vault took it. */
export function reportIssued(report: IssuedReport, sink: TokenSink | N8nSink): void {
  const expiry = report.expiresAt === null ? 'never expires' : `expires ${report.expiresAt}`;
  say(`created token ${report.id} for client "${report.client}" (${expiry}; services: ${report.services.join(', ') || 'none'})`);
  const added = report.change?.added.find((token) => token.id === report.id);
  const lifetime = added === undefined ? null : ttlLine(report.ttl, report.expiresAt, Date.parse(added.createdAt));
  if (lifetime !== null) say(lifetime);
  sayChange(report.change);
  if (report.kept.length > 0) {
    say(
      `--add never removes services: ${report.kept.join(', ')} stay${report.kept.length === 1 ? 's' : ''} granted; ` +
        `take one away with secure-proxy token ungrant --client ${report.client} --services <list>`,
    );
  }
  sayNoCheckAndSet(report.checkedAndSet);
  const failure = 'pushFailure' in sink ? sink.pushFailure : null;
  if (failure !== null) {
    // Vault accepts the token already: say so, and where it is, so the admin can finish by hand.
    const deadline = report.change?.ended.map((t) => t.expiresAt).find((at) => at !== null);
    throw new TokenAdminFailure(
      `${failure.message}. The new token ${report.id} is valid (${expiry}) and was written to ${sink.description}; ` +
        `put it into n8n's "Secure Proxy API" credential by hand${deadline === undefined ? '' : ` before the older tokens stop working at ${deadline}`}`,
    );
  }
  const pushed = 'pushed' in sink && sink.pushed;
  say(
    pushed
      ? `the token was written to ${sink.description} and is not shown again; n8n uses it from its next execution`
      : `the token was written to ${sink.description} and is not shown again; store it in n8n's "Secure Proxy API" credential`,
  );
}

/** Reports revoked tokens: the established lines on stdout, the change on stderr. */
export function reportRevoked(report: RevokedReport): void {
  if (report.revoked.length === 0) {
    process.stdout.write(`client "${report.client}" had no tokens; nothing revoked\n`);
    return;
  }
  for (const token of report.revoked) process.stdout.write(`revoked token ${token.id} of client "${report.client}" (created ${token.createdAt})\n`);
  sayChange(report.change);
  say('every proxy replica refuses the revoked tokens within tokenStore.refreshSeconds');
}

/** Reports a grant or ungrant on stderr: what changed, what was already so, and the record before → after. */
export function reportGrant(report: GrantReport, verb: 'grant' | 'ungrant'): void {
  const quoted = (services: readonly string[]) => services.map((service) => `"${service}"`).join(', ');
  if (report.unchanged.length > 0) {
    say(
      verb === 'grant'
        ? `client "${report.client}" already may use ${quoted(report.unchanged)}`
        : `client "${report.client}" is not granted ${quoted(report.unchanged)}; nothing to take away there`,
    );
  }
  if (report.change === null) {
    say(`nothing changed: client "${report.client}" may use ${report.services.join(', ') || 'no service'}`);
    return;
  }
  sayChange(report.change);
  if (report.services.length === 0) say(`client "${report.client}" may now use no service: its tokens get SERVICE_NOT_ALLOWED everywhere`);
  sayNoCheckAndSet(report.checkedAndSet);
  say(`every proxy replica applies this within tokenStore.refreshSeconds; the client's tokens are unchanged`);
}
