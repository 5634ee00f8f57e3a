import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from './undici-pool.js';

test("the lean Pool is undici's own Pool, with the request API", async () => {
  const undici = await import('undici');
  assert.equal(Pool, undici.Pool);
  const pool = new Pool('http://127.0.0.1:9');
  assert.equal(typeof pool.request, 'function');
  assert.equal(typeof pool.dispatch, 'function');
  await pool.close();
});
