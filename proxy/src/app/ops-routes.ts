/**
 * Which routes are ops routes (health, readiness, metrics): they need no token, carry no secret
 * or client detail, and answer under any Host. Kept out of the contract module, which holds
 * only constants so that the n8n node's copy of it stays a plain copy.
 */
import { HEALTH_PATH, METRICS_PATH, READY_PATH } from '../contract/contract';

const OPS_PATHS: ReadonlySet<string> = new Set([HEALTH_PATH, READY_PATH, METRICS_PATH]);

/** True for the exact path of an ops route. */
export function isOpsPath(path: string): boolean {
  return OPS_PATHS.has(path);
}
