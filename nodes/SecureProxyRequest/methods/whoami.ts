/**
 * The proxy's `GET /v1/whoami` answer in words: which client the token belongs to, the
 * services it may use and when it expires. The credential test and the hint after a run from
 * the editor (client-hint.ts) both say it this way.
 */
import type { WhoamiResponse } from '../shared/contract';

/** Whether a parsed body is a whoami answer. */
export function isWhoami(value: unknown): value is WhoamiResponse {
  return (
    typeof value === 'object' && value !== null && typeof (value as WhoamiResponse).clientId === 'string' && Array.isArray((value as WhoamiResponse).services)
  );
}

/** Roughly how long until expiry, for people: "3 days", "5 hours", "less than an hour". */
function timeLeft(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  if (days >= 1) return `${days} day${days === 1 ? '' : 's'}`;
  const hours = Math.floor(seconds / 3_600);
  return hours >= 1 ? `${hours} hour${hours === 1 ? '' : 's'}` : 'less than an hour';
}

/** `client "n8n-prod" (services: github, stripe; token expires 2030-01-01T00:00:00.000Z)` */
export function describeClient(whoami: WhoamiResponse): string {
  const services = whoami.services.length === 0 ? 'no services granted yet' : `services: ${whoami.services.join(', ')}`;
  const expiry = whoami.expiresAt === null ? 'token does not expire' : `token expires ${whoami.expiresAt}`;
  return `client "${whoami.clientId}" (${services}; ${expiry})`;
}

/** Whether the proxy says the token expires within its warning window (older proxies do not say). */
export function expiresSoon(whoami: WhoamiResponse): boolean {
  return whoami.expiringSoon === true && typeof whoami.expiresInSeconds === 'number';
}

/** The warning for a token that expires soon, or '' when it does not; `credential` names where the new token goes. */
export function expiryWarning(whoami: WhoamiResponse, credential: string): string {
  if (!expiresSoon(whoami)) return '';
  return (
    `Warning: the proxy token expires in ${timeLeft(whoami.expiresInSeconds as number)}; ` +
    `ask the proxy admin to rotate it (secure-proxy token rotate --client ${whoami.clientId}) and put the new token into ${credential}`
  );
}
