// vallum.schema.json, the JSON Schema editors complete and check vallum.yaml with: the one TypeBox schema, with the
// policy language's schema in place of every `policy`. `node scripts/write-config-schema.mjs` rewrites the file; a
// test fails when it is stale.
import { policySchema } from '@vallum/policy';
import { ConfigSchema } from './schema.js';

type Json = Record<string, unknown>;

export function configSchema(): Json {
  // Through JSON: TypeBox's symbol-keyed metadata is dropped, leaving plain JSON Schema.
  const root = JSON.parse(JSON.stringify(ConfigSchema)) as Json & { properties: Record<string, Json> };
  const route = (root.properties['routes'] as { items: { properties: Record<string, Json> } }).items;
  for (const [properties, key] of [
    [root.properties, 'admin_policy'],
    [root.properties, 'global_policy'],
    [route.properties, 'policy'],
  ] as const) {
    properties[key] = { description: properties[key]!['description'], $ref: '#/$defs/policy' };
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://vallum.dev/schemas/vallum.json',
    title: 'vallum.yaml',
    description: 'The Vallum configuration file. See vallum.example.yaml for every setting with what it does.',
    ...root,
    $defs: (policySchema() as { $defs: Json }).$defs,
  };
}

export function configSchemaText(): string {
  return `${JSON.stringify(configSchema(), null, 2)}\n`;
}
