/** A secret and the ones it replaced, current first: what a codec signs with (the first) and still accepts (all). */
export function secretList(current: string, previous: readonly string[] | undefined): readonly string[] {
  return previous?.length ? [current, ...previous] : [current];
}
