/** An email the policy and the upstream can trust the shape of: one `@`, something on both sides; else empty. */
export function cleanEmail(value: unknown): string {
  if (typeof value !== 'string') return '';
  const at = value.indexOf('@');
  return at > 0 && at === value.lastIndexOf('@') && at < value.length - 1 && !/[\s,;<>"]/.test(value) ? value : '';
}
