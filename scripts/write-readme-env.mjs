#!/usr/bin/env node
// Rewrites the README's environment-variable table from cmd/vallum's list (after `npx tsc -b`):
// `node scripts/write-readme-env.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';
import { environmentTable } from '../cmd/vallum/dist/env-variables.js';

const file = new URL('../README.md', import.meta.url).pathname;
const lines = readFileSync(file, 'utf8').split('\n');
const start = lines.indexOf('| variable | overrides |');
if (start < 0) throw new Error(`${file}: no '| variable | overrides |' table under "Environment variables"`);
let end = start;
while (end < lines.length && lines[end].startsWith('|')) end++;
lines.splice(start, end - start, ...environmentTable().split('\n'));
writeFileSync(file, lines.join('\n'));
console.log(`wrote ${file}`);
