// The other paths a back end may take a normalised path for. Vallum forwards the path with `%2F`, `%5C`, `\` and
// `;` left as sent, but common back ends decode encoded slashes and backslashes into `/` (then resolve the dot
// segments this exposes) or drop `;params` from each segment (Tomcat, Jetty, Spring). Route matching and the policy
// must hold for each of those readings, or `/public/..%2Fprivate` is public to Vallum and `/private` to the app.
import { normalizePath } from './normalize-path.js';

const NONE: readonly string[] = Object.freeze([]);
/** Only a path containing one of these can be read in more than one way. */
const AMBIGUOUS_CHARS = /[%\\;]/;
const SLASH_LIKE = /%2F|%5C|\\/gi;
const SEGMENT_PARAMS = /(?:;|%3B)[^/]*/gi;
/** What `reject_ambiguous_paths` refuses: anything a back end might read as another path. */
const AMBIGUOUS = /%2F|%5C|%3B|[\\;]/i;

/** Encoded slashes and backslashes (any case) and raw backslashes read as `/`. */
function decodeSlashes(path: string): string {
  return path.replace(SLASH_LIKE, '/');
}

/** `;params` (or `%3Bparams`) removed from every segment: `/a;x/b;y=1` → `/a/b`. */
function dropSegmentParams(path: string): string {
  return path.replace(SEGMENT_PARAMS, '');
}

/**
 * The distinct normalised readings of `path` (itself normalised) other than `path` itself: slashes decoded,
 * `;params` dropped, and both in either order. Empty, without allocating, for a path with no `%`, `\` or `;`.
 */
export function otherPathInterpretations(path: string): readonly string[] {
  if (!AMBIGUOUS_CHARS.test(path)) return NONE;
  const decoded = decodeSlashes(path);
  const stripped = dropSegmentParams(path);
  const candidates = [decoded, stripped, dropSegmentParams(decoded), decodeSlashes(stripped)];
  let out: string[] | undefined;
  for (const candidate of candidates) {
    if (candidate === path) continue;
    const normal = normalizePath(candidate);
    if (normal === null || normal === path || out?.includes(normal)) continue;
    (out ??= []).push(normal);
  }
  return out ?? NONE;
}

/** Whether a path could be read in more than one way by a back end (for `reject_ambiguous_paths`). */
export function isAmbiguousPath(path: string): boolean {
  return AMBIGUOUS.test(path);
}
