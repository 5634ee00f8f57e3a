import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { createCachedLookup } from './dns-cache.js';

const ask = (lookup: ReturnType<typeof createCachedLookup>, all: boolean) =>
  new Promise<unknown[]>((resolve) =>
    (lookup as unknown as (h: string, o: object, cb: (...a: unknown[]) => void) => void)('app.internal', { all }, (...args) => resolve(args)),
  );

test('answers are kept for the TTL, in both callback shapes; failures are not kept', async () => {
  let t = 0;
  let calls = 0;
  let answer: LookupAddress[] | Error = [{ address: '127.0.0.2', family: 4 }];
  const lookup = createCachedLookup(
    30_000,
    async () => {
      calls++;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    () => t,
  );
  assert.deepEqual(await ask(lookup, true), [null, [{ address: '127.0.0.2', family: 4 }]]);
  assert.deepEqual(await ask(lookup, false), [null, '127.0.0.2', 4]);
  assert.equal(calls, 1);

  answer = [{ address: '127.0.0.3', family: 4 }];
  t = 29_999;
  assert.deepEqual(await ask(lookup, false), [null, '127.0.0.2', 4]);
  t = 30_000;
  assert.deepEqual(await ask(lookup, false), [null, '127.0.0.3', 4], 'a changed record is picked up once the TTL is over');
  assert.equal(calls, 2);

  answer = Object.assign(new Error('down'), { code: 'EAI_AGAIN' });
  t = 70_000;
  assert.equal(((await ask(lookup, false))[0] as Error).message, 'down');
  answer = [{ address: '127.0.0.4', family: 4 }];
  assert.deepEqual(await ask(lookup, false), [null, '127.0.0.4', 4], 'a failure is asked again at once');
});
