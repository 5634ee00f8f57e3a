// Counts the steps of every Map and Set iteration while `run` runs, so a test can show that an operation touches
// only the entries it concerns rather than scanning a whole collection.

const PATCHED = [Map.prototype, Set.prototype] as const;
const METHODS = ['entries', 'keys', 'values', Symbol.iterator] as const;

export function countIterations(run: () => void): number {
  let steps = 0;
  const saved: Array<[object, PropertyKey, unknown]> = [];
  for (const proto of PATCHED) {
    for (const method of METHODS) {
      const original = (proto as unknown as Record<PropertyKey, (this: unknown) => Iterator<unknown>>)[method]!;
      saved.push([proto, method, original]);
      Object.defineProperty(proto, method, {
        configurable: true,
        writable: true,
        value: function (this: unknown) {
          const it = original.call(this);
          return {
            next: () => (steps++, it.next()),
            [Symbol.iterator]() {
              return this;
            },
          };
        },
      });
    }
  }
  try {
    run();
  } finally {
    for (const [proto, method, original] of saved) Object.defineProperty(proto, method, { configurable: true, writable: true, value: original });
  }
  return steps;
}
