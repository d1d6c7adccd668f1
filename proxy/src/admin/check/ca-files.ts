/**
 * The CA bundles of `secure-proxy check`: `vault.caFile` and every service's `caFile`, each
 * read the way the proxy reads it, with the validity of every certificate in it. A bundle
 * none of whose certificates is valid now verifies nothing (a problem); an expired
 * certificate beside valid ones, or one expiring within CA_EXPIRY_WARNING_DAYS, is a warning.
 * Subjects and dates only: a CA certificate is public.
 */
import { CaBundleError, loadCaBundle } from '../../config/ca-bundle';
import type { ProxyConfig } from '../../config/schema';
import type { CaFileReport } from './report';

/** Certificates expiring within this many days are named in the warnings. */
export const CA_EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Every caFile of the config, once per path, with the fields that name it. */
function caFilesOf(config: ProxyConfig): Map<string, string[]> {
  const files = new Map<string, string[]>();
  const use = (path: string | undefined, field: string) => {
    if (path !== undefined) files.set(path, [...(files.get(path) ?? []), field]);
  };
  use(config.vault.caFile, 'vault.caFile');
  for (const [name, service] of Object.entries(config.services)) use(service.caFile, `services.${name}.caFile`);
  return files;
}

/** Reads and judges every CA bundle of the config; warnings go to `warnings`. */
export function checkCaFiles(config: ProxyConfig, now: number, warnings: string[]): CaFileReport[] {
  return [...caFilesOf(config)].map(([path, usedBy]) => checkCaFile(path, usedBy, now, warnings));
}

function checkCaFile(path: string, usedBy: string[], now: number, warnings: string[]): CaFileReport {
  let certificates;
  try {
    certificates = loadCaBundle(path).certificates;
  } catch (err) {
    // The config was checked at load; the file changed or went away since.
    if (!(err instanceof CaBundleError)) throw err;
    return { path, usedBy, ok: false, problem: err.message, certificates: [] };
  }
  const listed = certificates.map((cert) => ({
    subject: cert.subject.replaceAll('\n', ', '),
    notBefore: cert.validFromDate.toISOString(),
    notAfter: cert.validToDate.toISOString(),
  }));
  const validNow = listed.filter((cert) => Date.parse(cert.notBefore) <= now && now < Date.parse(cert.notAfter));
  const where = `CA file ${path} (${usedBy.join(', ')})`;
  for (const cert of listed) {
    const notAfter = Date.parse(cert.notAfter);
    if (notAfter <= now && validNow.length > 0) warnings.push(`${where}: certificate "${cert.subject}" expired at ${cert.notAfter}`);
    else if (notAfter > now && notAfter - now <= CA_EXPIRY_WARNING_DAYS * DAY_MS) {
      warnings.push(`${where}: certificate "${cert.subject}" expires at ${cert.notAfter}; put its successor into the file before then`);
    }
  }
  if (validNow.length === 0) {
    const problem = `none of its ${listed.length} certificate${listed.length === 1 ? ' is' : 's is'} valid now (expired or not yet valid), so no server certificate can be verified with it`;
    return { path, usedBy, ok: false, problem, certificates: listed };
  }
  return { path, usedBy, ok: true, problem: null, certificates: listed };
}
