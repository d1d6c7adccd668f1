import type { IDataObject } from 'n8n-workflow';
import { getField, isEmptyPage, nextLinkOf, paginate, readPaginationSettings, type PaginationSettings } from '../../../nodes/SecureProxyRequest/pagination';
import { sendFollowingRedirects } from '../../../nodes/SecureProxyRequest/redirects';
import { resolveServiceReference } from '../../../nodes/SecureProxyRequest/service-url';
import type { PreparedRequest, ProxyResponse } from '../../../nodes/SecureProxyRequest/shared/types';

const PROXY = 'http://proxy.test:8080';
const fail = (message: string, description?: string): never => {
  throw new Error(`${message} | ${description ?? ''}`);
};
const first: PreparedRequest = { method: 'GET', service: 'api', path: '/items', query: 'limit=2', headers: {} };

function json(body: unknown, headers: Record<string, string> = {}, statusCode = 200): ProxyResponse {
  return { statusCode, statusMessage: '', headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(body)) };
}

function settings(raw: IDataObject): PaginationSettings {
  const read = readPaginationSettings(raw, fail);
  if (read === null) throw new Error('pagination off');
  return read;
}

/** Runs paginate against scripted pages; returns the requests made and the pages kept. */
async function run(raw: IDataObject, pages: ProxyResponse[], request: PreparedRequest = first) {
  const sent: PreparedRequest[] = [];
  const sleeps: number[] = [];
  const kept = await paginate(request, settings(raw), {
    send: async (next) => {
      sent.push(next);
      const page = pages[sent.length - 1];
      if (page === undefined) throw new Error(`unexpected request ${sent.length}`);
      return page;
    },
    check: (response) => {
      if (response.statusCode >= 400) throw new Error(`HTTP ${response.statusCode}`);
    },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    proxyBaseUrl: PROXY,
    fail,
  });
  return { sent: sent.map((r) => `${r.path}?${r.query}`), kept, sleeps };
}

describe('resolveServiceReference (next URLs and redirects stay in the service)', () => {
  const here = { service: 'api', path: '/items' };
  it.each([
    ['?page=2', '/items', 'page=2'],
    ['items?page=2', '/items', 'page=2'],
    ['/forward/api/items?page=2', '/items', 'page=2'],
    ['/forward/api', '', ''],
    [`${PROXY}/forward/api/items?cursor=abc`, '/items', 'cursor=abc'],
    [`${PROXY}/forward/api/other/path`, '/other/path', ''],
    ['https://api.example.com/v2/items?page=3', '/items', 'page=3'],
    ['/v2/items?page=4', '/items', 'page=4'],
    // A link to any other host whose path ends with the current path: only its query is taken.
    ['//cdn.example/api/items?page=5', '/items', 'page=5'],
  ])('%s → %s ? %s', (reference, path, query) => {
    expect(resolveServiceReference(reference, here, PROXY, { foreignPathMatch: true })).toEqual({ ok: true, path, query });
  });

  it.each([
    [`${PROXY}/forward/other/items?page=2`, /another proxy service/],
    ['/forward/other/items', /another proxy service/],
    ['https://evil.example/steal?page=2', /to https:\/\/evil\.example/],
    ['//evil.example/elsewhere', /to http:\/\/evil\.example/],
    [`${PROXY}/v1/services`, /outside the proxy data plane/],
    ['javascript:alert(1)', /non-HTTP/],
    [`${PROXY}/forward/api/%2e%2e/other/x`, /another proxy service/],
    ['/forward/api/%2e%2e/x', /segment/],
  ])('refuses %s', (reference, reason) => {
    const resolved = resolveServiceReference(reference, here, PROXY, { foreignPathMatch: true });
    expect(resolved.ok).toBe(false);
    if (!resolved.ok) expect(resolved.problem).toMatch(reason);
  });

  it('handles a proxy mounted under a base path', () => {
    expect(resolveServiceReference('https://gw.test/sp/forward/api/items?p=2', here, 'https://gw.test/sp', { foreignPathMatch: false })).toEqual({
      ok: true,
      path: '/items',
      query: 'p=2',
    });
  });

  it('refuses foreign URLs for redirects even when the path matches', () => {
    expect(resolveServiceReference('https://api.example.com/items', here, PROXY, { foreignPathMatch: false }).ok).toBe(false);
  });
});

describe('pagination helpers', () => {
  it('reads fields by path', () => {
    const body = { links: { next: 'x' }, items: [{ id: 7 }] };
    expect(getField(body, 'links.next')).toBe('x');
    expect(getField(body, 'items[0].id')).toBe(7);
    expect(getField(body, 'items.0.id')).toBe(7);
    expect(getField(body, '__proto__.polluted')).toBeUndefined();
    expect(getField(undefined, 'a')).toBeUndefined();
  });

  it.each([
    ['<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last"', 'https://a/x?page=2'],
    ['<https://a/x?page=9>; rel="last", </x?page=3>; rel=next', '/x?page=3'],
    ['<https://a/x?page=1>; rel="prev first"', undefined],
    [undefined, undefined],
  ])('Link header %j', (header, next) => {
    expect(nextLinkOf(header)).toBe(next);
  });

  it.each([
    [json([]), '', true],
    [json({}), '', true],
    [json({ data: [] }), 'data', true],
    [json({ data: [1] }), 'data', false],
    [json([1]), '', false],
    [{ statusCode: 204, statusMessage: '', headers: {}, body: Buffer.alloc(0) }, '', true],
  ] as Array<[ProxyResponse, string, boolean]>)('empty page %#', (page, field, empty) => {
    expect(isEmptyPage(page, field)).toBe(empty);
  });

  it.each([
    [{ paginationMode: 'off' }, null],
    [{ paginationMode: 'nextUrlInBody' }, /Next URL Field/],
    [{ paginationMode: 'pageNumber' }, /Parameter Name/],
    [{ paginationMode: 'cursor', parameterName: 'c' }, /Cursor Field/],
    [{ paginationMode: 'offset', parameterName: 'o', pageSize: 0 }, /Page Size/],
    [{ paginationMode: 'pageNumber', parameterName: 'p', maxPages: 0 }, /Max Pages/],
    [{ paginationMode: 'pageNumber', parameterName: 'p', stopWhen: 'fieldIsEmpty' }, /Stop Field/],
    [{ paginationMode: 'pageNumber', parameterName: 'p', stopWhen: 'statusCode', stopStatusCodes: '4o4' }, /Stop Status Codes/],
  ] as Array<[IDataObject, RegExp | null]>)('validates %j', (raw, expected) => {
    if (expected === null) expect(readPaginationSettings(raw, fail)).toBeNull();
    else expect(() => readPaginationSettings(raw, fail)).toThrow(expected);
  });
});

describe('paginate', () => {
  it('follows a next URL from the body until it is missing', async () => {
    const result = await run({ paginationMode: 'nextUrlInBody', nextUrlField: 'links.next' }, [
      json({ data: [1], links: { next: `${PROXY}/forward/api/items?limit=2&page=2` } }),
      json({ data: [2], links: { next: '?limit=2&page=3' } }),
      json({ data: [3], links: { next: null } }),
    ]);
    expect(result.sent).toEqual(['/items?limit=2', '/items?limit=2&page=2', '/items?limit=2&page=3']);
    expect(result.kept).toHaveLength(3);
  });

  it('refuses a next URL that leaves the service', async () => {
    await expect(run({ paginationMode: 'nextUrlInBody', nextUrlField: 'next' }, [json({ data: [1], next: 'https://evil.example/x' })])).rejects.toThrow(
      /next-page URL outside the service \| The URL "https:\/\/evil\.example\/x" points to https:\/\/evil\.example/,
    );
  });

  it('follows the Link header', async () => {
    const result = await run({ paginationMode: 'nextUrlInLinkHeader' }, [
      json([1], { link: '<https://api.example.com/v1/items?page=2>; rel="next"' }),
      json([2], { link: '</forward/api/items?page=3>; rel="next"' }),
      json([3]),
    ]);
    expect(result.sent).toEqual(['/items?limit=2', '/items?page=2', '/items?page=3']);
  });

  it('counts pages up from the first page number and stops at an empty page (not output)', async () => {
    const result = await run({ paginationMode: 'pageNumber', parameterName: 'page', startValue: 1, requestInterval: 50 }, [json([1]), json([2]), json([])]);
    expect(result.sent).toEqual(['/items?limit=2&page=1', '/items?limit=2&page=2', '/items?limit=2&page=3']);
    expect(result.kept).toHaveLength(2);
    expect(result.sleeps).toEqual([50, 50]);
  });

  it('moves an offset by the page size and stops on a results field', async () => {
    const result = await run({ paginationMode: 'offset', parameterName: 'offset', pageSize: 2, resultsField: 'data' }, [
      json({ data: [1, 2] }),
      json({ data: [] }),
    ]);
    expect(result.sent).toEqual(['/items?limit=2&offset=0', '/items?limit=2&offset=2']);
    expect(result.kept).toHaveLength(1);
  });

  it('sends a cursor from the body and stops on has_more=false (that page is output)', async () => {
    const result = await run({ paginationMode: 'cursor', parameterName: 'cursor', cursorField: 'meta.next', stopWhen: 'fieldIsEmpty', stopField: 'has_more' }, [
      json({ data: [1], meta: { next: 'c2' }, has_more: true }),
      json({ data: [2], meta: { next: 'c3' }, has_more: false }),
    ]);
    expect(result.sent).toEqual(['/items?limit=2', '/items?limit=2&cursor=c2']);
    expect(result.kept).toHaveLength(2);
  });

  it('stops on a stop status code without an error, and errors on others', async () => {
    const stop = await run({ paginationMode: 'pageNumber', parameterName: 'p', stopWhen: 'statusCode', stopStatusCodes: '404' }, [
      json([1]),
      json({}, {}, 404),
    ]);
    expect(stop.kept).toHaveLength(1);
    await expect(run({ paginationMode: 'pageNumber', parameterName: 'p' }, [json([1]), json({}, {}, 500)])).rejects.toThrow('HTTP 500');
  });

  it('never fetches more than Max Pages', async () => {
    const pages = Array.from({ length: 5 }, (_, i) => json([i]));
    const result = await run({ paginationMode: 'pageNumber', parameterName: 'p', maxPages: 3 }, pages);
    expect(result.sent).toHaveLength(3);
  });

  it('stops when the next URL repeats the current request', async () => {
    const result = await run({ paginationMode: 'nextUrlInBody', nextUrlField: 'next' }, [json({ next: '?limit=2' })]);
    expect(result.sent).toHaveLength(1);
  });

  it('puts a page parameter into the JSON body when asked', async () => {
    const post: PreparedRequest = { ...first, method: 'POST', body: '{"q":"x"}', jsonBody: { q: 'x' } };
    const bodies: string[] = [];
    await paginate(post, settings({ paginationMode: 'pageNumber', parameterName: 'page', parameterLocation: 'body', maxPages: 2 }), {
      send: async (next) => {
        bodies.push(String(next.body));
        return json([1]);
      },
      check: () => undefined,
      sleep: async () => undefined,
      proxyBaseUrl: PROXY,
      fail,
    });
    expect(bodies).toEqual(['{"q":"x","page":1}', '{"q":"x","page":2}']);
    await expect(
      paginate(first, settings({ paginationMode: 'pageNumber', parameterName: 'page', parameterLocation: 'body' }), {
        send: async () => json([1]),
        check: () => undefined,
        sleep: async () => undefined,
        proxyBaseUrl: PROXY,
        fail,
      }),
    ).rejects.toThrow(/needs a JSON body/);
  });
});

describe('redirects', () => {
  const redirect = (location: string, status = 302): ProxyResponse => ({ statusCode: status, statusMessage: '', headers: { location }, body: Buffer.alloc(0) });
  const ok = json({ ok: true });
  const tooMany = (count: number): never => {
    throw new Error(`too many: ${count}`);
  };

  async function follow(responses: ProxyResponse[], request: PreparedRequest = first, follow = true, maxRedirects = 21) {
    const sent: string[] = [];
    const response = await sendFollowingRedirects(
      async (next) => {
        sent.push(`${next.path}?${next.query}`);
        return responses[sent.length - 1];
      },
      request,
      { follow, maxRedirects },
      PROXY,
      tooMany,
    );
    return { response, sent };
  }

  it('follows a redirect the proxy rewrote into the service', async () => {
    const result = await follow([redirect('/forward/api/items/2?x=1', 301), ok]);
    expect(result.sent).toEqual(['/items?limit=2', '/items/2?x=1']);
    expect(result.response).toBe(ok);
  });

  it('returns a redirect that points elsewhere, without following it', async () => {
    const away = redirect('https://cdn.example.com/file.zip');
    const result = await follow([away]);
    expect(result.response).toBe(away);
    expect(result.sent).toHaveLength(1);
  });

  it('does not follow for POST, or when turned off', async () => {
    const moved = redirect('/forward/api/x', 307);
    expect((await follow([moved], { ...first, method: 'POST' })).response).toBe(moved);
    expect((await follow([moved], first, false)).response).toBe(moved);
  });

  it('stops after Max Redirects', async () => {
    await expect(follow([redirect('/forward/api/a'), redirect('/forward/api/b'), ok], first, true, 1)).rejects.toThrow('too many: 1');
  });
});
