// The identity values a criterion needs, so that many rules can be indexed by them (see ../identity-index.ts).

export type IdentityField = 'email' | 'domain' | 'sub' | 'groups';

/** A value a rule needs: it can only match when the identity's `field` is (or, for groups, holds) `value`. */
export interface IdentityKey {
  readonly field: IdentityField;
  readonly value: string;
}

export function keysOf(field: IdentityField, values: readonly string[]): readonly IdentityKey[] {
  return Object.freeze(values.map((value) => Object.freeze({ field, value })));
}
