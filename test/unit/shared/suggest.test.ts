/** "Did you mean": typos find their word, different words find nothing. */
import { closestName, didYouMean } from '../../../proxy/src/shared/suggest';

describe('closestName', () => {
  it.each([
    ['chek', ['serve', 'check', 'token'], 'check'],
    ['kvMuont', ['address', 'kvMount', 'kvVersion'], 'kvMount'],
    ['prot', ['host', 'port'], 'port'],
    ['TOKENSTORE', ['tokenStore', 'tokenExpiryWarningSeconds'], 'tokenStore'],
    ['grnt', ['grant', 'ungrant', 'rotate'], 'grant'],
  ])('%s → %s', (word, candidates, expected) => {
    expect(closestName(word, candidates)).toBe(expected);
  });

  it.each([
    ['frobnicate', ['serve', 'check', 'token']],
    ['colour', ['target', 'secret', 'inject', 'description']],
    ['ab', ['xy']],
  ])('finds nothing close for %s', (word, candidates) => {
    expect(closestName(word, candidates)).toBeNull();
  });

  it('never suggests the word itself, and quotes as asked', () => {
    expect(closestName('echo', ['echo'])).toBeNull();
    expect(didYouMean('tokne', ['token'], "'")).toBe(" (did you mean 'token'?)");
    expect(didYouMean('zzz', ['token'])).toBe('');
  });
});
