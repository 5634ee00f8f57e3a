import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { runFixture } from './policy-fixtures.js';

const POLICY = fileURLToPath(new URL('../../../policy/', import.meta.url));
const examples = readdirSync(join(POLICY, 'examples')).filter((f) => f.endsWith('.yaml'));
const fixtures = readdirSync(join(POLICY, 'tests')).filter((f) => f.endsWith('.yaml'));

test('every example policy ships with a fixture of the same name', () => {
  assert.ok(examples.length >= 5);
  assert.deepEqual(
    examples.filter((e) => !fixtures.includes(e)),
    [],
  );
});

for (const fixture of fixtures) {
  test(`policy/tests/${fixture}: every case passes, and there are allow and deny cases`, () => {
    const results = runFixture(join(POLICY, 'tests', fixture));
    for (const r of results) assert.ok(r.passed, `${r.name}: got ${JSON.stringify(r.decision)}, missing ${r.missingReasons.join(', ')}`);
    assert.ok(results.some((r) => r.expected === 'allow') && results.some((r) => r.expected === 'deny'));
  });
}
