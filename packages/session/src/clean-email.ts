/** An email the policy and the upstream can trust the shape of: one `@`, something on both sides; else empty. */
export function cleanEmail(value: unknown): string {
  if (typeof value !== 'string') return '';
  const at = value.indexOf('@');
  return at > 0 && at === value.lastIndexOf('@') && at < value.length - 1 && !/[\s,;<>"]/.test(value) ? value : '';
}

/**
 * An email claim that is present but not one plain address (`a@evil.com@example.com`, a list, a non-string): the
 * identity carrying it is refused, not kept without an email, since each parser downstream could read it otherwise.
 */
export function isUnacceptableEmail(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '' && cleanEmail(value) === '';
}
