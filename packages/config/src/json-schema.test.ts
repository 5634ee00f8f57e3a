import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { configSchema, configSchemaText } from './index.js';

const ROOT = new URL('../../../', import.meta.url);

test('vallum.schema.json is the one generated from the config schema (regenerate: node scripts/write-config-schema.mjs)', () => {
  assert.equal(readFileSync(new URL('vallum.schema.json', ROOT), 'utf8'), configSchemaText());
});

test('the example config and the compose config carry or pass the JSON Schema editors check them with', () => {
  const validate = new Ajv2020({ strict: false }).compile(configSchema());
  const example = readFileSync(new URL('vallum.example.yaml', ROOT), 'utf8');
  assert.match(example.split('\n')[0]!, /^# yaml-language-server: \$schema=\.\/vallum\.schema\.json$/);
  for (const file of ['vallum.example.yaml', 'deploy/compose/vallum.yaml']) {
    const doc = parse(readFileSync(new URL(file, ROOT), 'utf8'));
    // The compose file takes its secrets and per-container settings from the environment.
    assert.ok(validate(doc), `${file}: ${JSON.stringify(validate.errors)}`);
  }
});

test('the JSON Schema refuses what the loader refuses: unknown keys, enum values, durations, policies', () => {
  const validate = new Ajv2020({ strict: false }).compile(configSchema());
  const base = {
    authenticate_service_url: 'https://authenticate.example.com',
    idp: { issuer: 'https://idp.example.com', client_id: 'vallum' },
    routes: [{ from: 'https://app.example.com', to: 'http://127.0.0.1:9', policy: { allow: { or: [{ email: { is: 'a@example.com' } }] } } }],
  };
  assert.ok(validate(base), JSON.stringify(validate.errors));
  assert.ok(validate({ ...base, cookie_expire: '1h30m' }), JSON.stringify(validate.errors));
  for (const bad of [
    { ...base, log_levl: 'info' },
    { ...base, log_level: 'verbose' },
    { ...base, cookie_expire: '90 minutes' },
    { ...base, routes: [{ ...base.routes[0], policy: { allow: { or: [{ emial: 'a@example.com' }] } } }] },
    { ...base, routes: [{ ...base.routes[0], lb_policy: 'rand' }] },
  ]) {
    assert.equal(validate(bad), false, JSON.stringify(bad));
  }
});
