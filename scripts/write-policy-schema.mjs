#!/usr/bin/env node
// Rewrites policy/schema.json from the criterion registry (after `npx tsc -b`): `node scripts/write-policy-schema.mjs`.
// It lives here, not in packages/policy, because the policy package does no I/O.
import { writeFileSync } from 'node:fs';
import { policySchemaText } from '../packages/policy/dist/index.js';

const file = new URL('../policy/schema.json', import.meta.url).pathname;
writeFileSync(file, policySchemaText());
console.log(`wrote ${file}`);
