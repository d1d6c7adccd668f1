import { splitForwardUrl } from '../../../proxy/src/forward/split-url';

describe('splitForwardUrl', () => {
  it.each([
    ['/svc/a/b?x=1', { service: 'svc', path: '/a/b', query: 'x=1' }],
    ['/svc', { service: 'svc', path: '', query: null }],
    ['/svc/', { service: 'svc', path: '/', query: null }],
    ['/svc?x=1', { service: 'svc', path: '', query: 'x=1' }],
    ['/svc/?', { service: 'svc', path: '/', query: '' }],
    ['/svc/a?x=/y', { service: 'svc', path: '/a', query: 'x=/y' }],
    ['/', { service: '', path: '', query: null }],
    ['/?x', { service: '', path: '', query: 'x' }],
  ])('%s', (url, expected) => {
    expect(splitForwardUrl(url)).toEqual(expected);
  });
});
