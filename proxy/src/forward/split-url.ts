/**
 * Splits the data-plane URL below the mount point (`/{service}/{path}?{query}`, as express
 * leaves `req.url` after `app.use('/forward', ...)`) with plain string work.
 */

export interface ForwardTarget {
  /** First segment, raw (service names never need encoding). Empty when missing. */
  service: string;
  /** Raw path below the service, '' or starting with '/'. */
  path: string;
  /** Raw query without '?', or null when there was no '?'. */
  query: string | null;
}

/** `'/github/repos/x?page=2'` → `{ service: 'github', path: '/repos/x', query: 'page=2' }`. */
export function splitForwardUrl(url: string): ForwardTarget {
  const question = url.indexOf('?');
  const pathPart = question === -1 ? url : url.slice(0, question);
  const query = question === -1 ? null : url.slice(question + 1);
  const start = pathPart.charCodeAt(0) === 0x2f /* / */ ? 1 : 0;
  const slash = pathPart.indexOf('/', start);
  if (slash === -1) return { service: pathPart.slice(start), path: '', query };
  return { service: pathPart.slice(start, slash), path: pathPart.slice(slash), query };
}
