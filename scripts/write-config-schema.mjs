#!/usr/bin/env node
// Rewrites vallum.schema.json from the config schema (after `npx tsc -b`): `node scripts/write-config-schema.mjs`.
import { writeFileSync } from 'node:fs';
import { configSchemaText } from '../packages/config/dist/index.js';

const file = new URL('../vallum.schema.json', import.meta.url).pathname;
writeFileSync(file, configSchemaText());
console.log(`wrote ${file}`);
