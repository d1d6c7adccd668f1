/**
 * Keeps the HTTPS listener's certificate current without a restart. cert-manager and
 * certbot renew by replacing files (often by swapping a symlink in the directory), so the
 * directories holding the pair are watched, not the files: a swapped link or a renamed
 * file still shows up. Changes are debounced because certificate and key are written one
 * after the other; a pair that does not check out is refused with an error log and the
 * previous one keeps serving. SIGHUP triggers the same check.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'winston';
import type { ReloadMetrics } from '../observability/reload-metrics';
import { CertificateError, loadCertificatePair, type CertificateFiles, type CertificatePair } from './certificate';

export interface CertificateWatcherOptions {
  files: CertificateFiles;
  /** The pair the listener started with. */
  initial: CertificatePair;
  /** Installs a checked pair for new connections (`server.setSecureContext`). */
  apply: (pair: CertificatePair) => void;
  /** The logger of the app serving now (it changes on config reloads). */
  logger: () => Logger;
  metrics: ReloadMetrics;
  /** Quiet time after the last file event before the files are read. */
  debounceMs?: number;
}

export interface CertificateWatcher {
  /** Re-reads the pair now; resolves true when a new pair was applied. */
  reload(trigger: string): Promise<boolean>;
  /** Stops watching. */
  close(): void;
}

const DEFAULT_DEBOUNCE_MS = 500;

/** Starts watching the directories of the certificate and key files. */
export function watchCertificate(options: CertificateWatcherOptions): CertificateWatcher {
  let serving = options.initial;
  let queue: Promise<boolean> = Promise.resolve(false);
  let debounce: NodeJS.Timeout | null = null;
  let closed = false;

  const reloadNow = async (trigger: string): Promise<boolean> => {
    let next: CertificatePair;
    try {
      next = await loadCertificatePair(options.files);
    } catch (err) {
      const reason = err instanceof CertificateError ? err.message : `unexpected ${err instanceof Error ? err.name : typeof err} while reading the pair`;
      options.metrics.certificateReloaded('failure');
      options.logger().error('TLS certificate reload refused: keeping the certificate in use', {
        trigger,
        reason,
        fingerprint256: serving.fingerprint256,
      });
      return false;
    }
    if (next.contentHash === serving.contentHash) return false;
    options.apply(next);
    serving = next;
    options.metrics.certificateReloaded('success');
    options.metrics.certificateServing(next.notAfter);
    options.logger().info('TLS certificate reloaded', {
      trigger,
      subject: next.subject,
      fingerprint256: next.fingerprint256,
      notAfter: next.notAfter.toISOString(),
    });
    return true;
  };

  // One reload at a time, in order: two overlapping reads could apply an older pair last.
  const reload = (trigger: string): Promise<boolean> => {
    queue = queue.then(() => (closed ? false : reloadNow(trigger)));
    return queue;
  };

  const onChange = (): void => {
    if (debounce !== null) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = null;
      void reload('file change');
    }, options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
    debounce.unref();
  };

  const directories = [...new Set([dirname(options.files.certFile), dirname(options.files.keyFile)])];
  const watchers: FSWatcher[] = directories.map((directory) =>
    watch(directory, { persistent: false }, onChange).on('error', (err: NodeJS.ErrnoException) => {
      options.logger().warn('watching the TLS certificate directory failed; certificate changes are applied on SIGHUP only', {
        directory,
        code: err.code ?? 'unknown',
      });
    }),
  );

  return {
    reload,
    close() {
      closed = true;
      if (debounce !== null) clearTimeout(debounce);
      for (const watcher of watchers) watcher.close();
    },
  };
}
