/** The request target (`req.url`) without its query: `/forward/x/users?page=2` → `/forward/x/users`. */
export function pathOnly(url: string): string {
  const question = url.indexOf('?');
  return question === -1 ? url : url.slice(0, question);
}
