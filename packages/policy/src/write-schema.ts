// Rewrites policy/schema.json from the criterion registry: `node packages/policy/dist/write-schema.js`.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { policySchemaText } from './json-schema.js';

const file = fileURLToPath(new URL('../../../policy/schema.json', import.meta.url));
writeFileSync(file, policySchemaText());
console.log(`wrote ${file}`);
