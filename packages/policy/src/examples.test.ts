import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { compilePolicy, evaluatePolicy, validatePolicy, type Identity } from './index.js';

const EXAMPLES = new URL('../../../policy/examples/', import.meta.url);
const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));
const load = (file: string): unknown => parse(readFileSync(new URL(file, EXAMPLES), 'utf8'));

test('there are example policies', () => {
  assert.ok(files.length >= 2, `found ${files.join(', ')}`);
});

for (const file of files) {
  test(`policy/examples/${file} compiles without issues`, () => {
    assert.deepEqual(validatePolicy(load(file)), []);
  });
}

test('engineering-not-contractors.yaml allows engineers and denies contractors', () => {
  const policy = compilePolicy(load('engineering-not-contractors.yaml'));
  const request = { method: 'GET', host: 'wiki.localhost', path: '/' };
  const engineer: Identity = { sub: 'e', email: 'eve@example.com', groups: ['engineering'], claims: { department: 'engineering' } };
  assert.equal(evaluatePolicy(policy, engineer, request, 0).allow, true);
  const contractor = { ...engineer, groups: ['engineering', 'contractors'] };
  assert.equal(evaluatePolicy(policy, contractor, request, 0).reasons[0]?.code, 'deny-matched');
});
