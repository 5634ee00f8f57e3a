#!/usr/bin/env node
// Rewrites docs/errors.md from the code table (after `npx tsc -b`): `node scripts/write-errors-doc.mjs`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { errorsDocText } from '../packages/errors/dist/index.js';

const file = new URL('../docs/errors.md', import.meta.url).pathname;
mkdirSync(new URL('../docs/', import.meta.url).pathname, { recursive: true });
writeFileSync(file, errorsDocText());
console.log(`wrote ${file}`);
