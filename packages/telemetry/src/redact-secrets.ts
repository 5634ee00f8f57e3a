// Takes credentials out of any text bound for a log: query and fragment parameters that carry one, by name (also
// percent-encoded inside another URL's parameter), and Bearer/Basic credentials. Applied to every finished log line.

/** Parameters whose value is a credential wherever they appear in a URL. */
export const SECRET_PARAMS = [
  'vallum_handoff',
  'sign_out_token',
  'code',
  'state',
  'id_token_hint',
  'id_token',
  'access_token',
  'refresh_token',
  'logout_token',
  'token',
  'client_secret',
  'code_verifier',
  'password',
] as const;

export const REDACTED = '[redacted]';

// A parameter starts after ? & ; # (or their percent-encoded forms inside another parameter's value) and its value
// ends at the next separator, whitespace, or a quote or backslash of the JSON line around it.
const PARAM = new RegExp(`((?:[?&;#]|%3[Ff]|%26|%23)(?:${SECRET_PARAMS.join('|')})(?:=|%3[Dd]))(?:(?!%26|%23)[^&#;\\s"'\\\\<>])+`, 'gi');
const CREDENTIAL = /\b(Bearer|Basic)\s+[^\s"'\\,;]+/gi;
// A token response (or a session) quoted in an error message: `"access_token":"…"`, also JSON-escaped in a string.
const TOKEN_FIELD =
  /(\\?"(?:access_token|refresh_token|id_token|logout_token|client_secret|accessToken|refreshToken|idToken)\\?"\s*:\s*\\?")(?:[^"\\]|\\(?!"))+/g;

export function redactSecrets(text: string): string {
  // Most lines carry neither: one scan for '=' and one for a scheme word before any regex replace.
  const hasParam = text.includes('=') || text.includes('%3D') || text.includes('%3d');
  const hasCredential = /bearer|basic/i.test(text);
  const hasField = /oken\\?"|secret\\?"/.test(text);
  if (!hasParam && !hasCredential && !hasField) return text;
  let out = hasParam ? text.replace(PARAM, `$1${REDACTED}`) : text;
  if (hasCredential) out = out.replace(CREDENTIAL, `$1 ${REDACTED}`);
  if (hasField) out = out.replace(TOKEN_FIELD, `$1${REDACTED}`);
  return out;
}
