import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { parse } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { CRITERIA } from './criteria/index.js';
import { policySchema, policySchemaText, validatePolicy } from './index.js';

const SCHEMA_FILE = new URL('../../../policy/schema.json', import.meta.url);
const EXAMPLES = new URL('../../../policy/examples/', import.meta.url);

test('policy/schema.json is the one generated from the criterion registry (regenerate: node scripts/write-policy-schema.mjs)', () => {
  assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), policySchemaText());
});

test("each criterion's declared syntax is what its compiler accepts", () => {
  for (const c of CRITERIA) {
    const key = c.takesArgument ? `${c.name}/x` : c.name;
    const message = (value: unknown) =>
      validatePolicy({ allow: { or: [{ [key]: value }] } })
        .map((i) => i.message)
        .join('\n');
    const { operators, modifiers, keys, constant } = c.syntax;
    if (constant) {
      assert.equal(message(true), '', c.name);
      assert.match(message(false), /expected true/, c.name);
    } else if (keys) {
      assert.match(message({ bogus: 1 }), new RegExp(`expected ${Object.keys(keys).join(', ')}$`), c.name);
    } else {
      const names = Object.keys(operators ?? {}).join(', ');
      const mods = Object.keys(modifiers ?? {});
      assert.match(message({ bogus: 1 }), new RegExp(`expected one of ${names}${mods.length ? ` \\(with ${mods.join(', ')}\\)` : ''}$`), c.name);
    }
  }
});

test('the schema accepts every example policy and rejects what the compiler rejects', () => {
  const validate = new Ajv2020({ strict: false }).compile(policySchema());
  for (const file of readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'))) {
    assert.ok(validate(parse(readFileSync(new URL(file, EXAMPLES), 'utf8'))), `${file}: ${JSON.stringify(validate.errors)}`);
  }
  assert.ok(validate({ allow: { or: [{ 'claim/department': 'x' }, { nor: [{ 'header/x-a': { present: true } }] }] } }));
  assert.ok(validate({ use: 'engineering-only', enforce: false }));
  for (const bad of [
    { allow: { or: [{ emial: 'a@b.c' }] } },
    { allow: { or: [{ groups: { hass: 'x' } }] } },
    { allow: { ors: [] } },
    { alow: {} },
    { allow: { or: [{ email: 'a@b.c', domain: 'b.c' }] } },
    { allow: { or: [{ http_path: { is: '/a', starts_with: '/b' } }] } },
    { allow: { or: [{ date: { befor: '2027-01-01' } }] } },
  ]) {
    assert.equal(validate(bad), false, JSON.stringify(bad));
    assert.notDeepEqual(validatePolicy(bad), [], JSON.stringify(bad));
  }
});
