// The preserve_post part of the frozen config view: bytes, 0 when off.
import type { ConfigIssue, ConfigPath } from './config-issues.js';
import { parseSize } from './parse-values.js';

export const DEFAULT_PRESERVE_POST_BYTES = 64 * 1024;
const MAX_PRESERVE_POST_BYTES = 1024 * 1024;

type RawPreservePost = false | { max_bytes: number | string } | undefined;

/** The largest POST body kept through a sign-in; 0 = off, undefined = not set here. */
export function buildPreservePost(raw: RawPreservePost, path: ConfigPath, issues: ConfigIssue[]): number | undefined {
  if (raw === undefined) return undefined;
  if (raw === false) return 0;
  const bytes = parseSize(raw.max_bytes);
  if (bytes < 1 || bytes > MAX_PRESERVE_POST_BYTES) issues.push({ path: [...path, 'max_bytes'], message: 'must be between 1 byte and 1MiB' });
  return bytes;
}
