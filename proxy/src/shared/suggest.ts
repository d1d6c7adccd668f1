/**
 * "Did you mean …?" for names a person typed: config fields, service names, secret fields.
 * The closest candidate by edit distance (fastest-levenshtein), ignoring case, and only when
 * it is close enough to be a typo rather than a different word.
 */
import { distance } from 'fastest-levenshtein';

/** The candidate `word` was most likely meant to be, or null when none is close. */
export function closestName(word: string, candidates: Iterable<string>): string | null {
  const typed = word.toLowerCase();
  // Short words allow one edit; longer ones two (a swap of two letters, "prot" for "port") or a third of
  // the word, at most four: "kvMuont" finds kvMount, "port" does not find "host".
  const allowed = word.length <= 3 ? 1 : Math.min(4, Math.max(2, Math.floor(word.length / 3)));
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const d = distance(typed, candidate.toLowerCase());
    if (d <= allowed && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** ` (did you mean "x"?)` for the closest candidate, or '' when none is close. */
export function didYouMean(word: string, candidates: Iterable<string>, quote = '"'): string {
  const best = closestName(word, candidates);
  return best === null ? '' : ` (did you mean ${quote}${best}${quote}?)`;
}
