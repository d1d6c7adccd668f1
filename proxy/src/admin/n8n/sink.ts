/**
 * Delivery of a new token when `--n8n-url` is given: into the --out file first (when there is
 * one), then into n8n's credential. Vault already holds the token by then, so a refused push
 * must not lose it: without --out it falls back to standard output, and the caller reports
 * the refusal (exit 1) with where the token went, so the admin can finish by hand.
 */
import { N8nRefusal, pushToken, type N8nTarget } from './push';
import { stdoutSink, type TokenSink } from '../tokens/token-output';

/** A TokenSink that also knows whether n8n took the token. */
export interface N8nSink extends TokenSink {
  /** Whether n8n's credential holds the token now. */
  readonly pushed: boolean;
  /** Why n8n did not take the token; null when it did (or nothing was delivered yet). */
  readonly pushFailure: N8nRefusal | null;
}

/** Pushes into n8n, keeping the token in `file` (or printing it when the push fails and there is no file). */
export function n8nSink(target: N8nTarget, file: TokenSink | null): N8nSink {
  let pushed = false;
  let failure: N8nRefusal | null = null;
  const credential = `n8n credential ${target.credentialId} at ${target.baseUrl}`;
  return {
    get description() {
      const elsewhere = file?.description ?? (failure === null ? null : 'standard output');
      if (!pushed) return elsewhere ?? 'nowhere yet';
      return elsewhere === null ? credential : `${credential} and ${elsewhere}`;
    },
    get pushed() {
      return pushed;
    },
    get pushFailure() {
      return failure;
    },
    async deliver(token) {
      if (file !== null) await file.deliver(token);
      try {
        await pushToken(target, token);
        pushed = true;
      } catch (err) {
        // Whatever went wrong, the token must not be lost: every failure takes the fallback below.
        failure =
          err instanceof N8nRefusal ? err : new N8nRefusal(`pushing to n8n failed unexpectedly (${err instanceof Error ? err.name : typeof err})`, null);
        // Vault already accepts the token: keep it somewhere the admin can take it from.
        if (file === null) await stdoutSink().deliver(token);
      }
    },
    abandon: async () => file?.abandon(),
  };
}
