// policy/schema.json, generated from the criterion registry and the parser's keys so editors complete and check
// exactly what the compiler accepts. `node scripts/write-policy-schema.mjs` rewrites the file; a test fails
// when it is stale.
import { CRITERIA, type CriterionSyntax, type OperandKind } from './criteria/index.js';
import { OPERATORS } from './parse.js';
import { DURATION_PATTERN } from './duration.js';

type Json = Record<string, unknown>;

const OPERAND: Record<OperandKind, Json> = {
  string: { type: 'string', minLength: 1 },
  strings: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
  string_or_strings: {
    anyOf: [
      { type: 'string', minLength: 1 },
      { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    ],
  },
  scalar: { type: ['string', 'number', 'boolean'] },
  scalars: { type: 'array', minItems: 1, items: { type: ['string', 'number', 'boolean'] } },
  true: { const: true },
  boolean: { type: 'boolean' },
  duration: { type: 'string', pattern: DURATION_PATTERN },
};

function valueSchema(syntax: CriterionSyntax): Json {
  const description = syntax.description;
  if (syntax.constant) return { description, const: true };
  const mapping = (keys: Readonly<Record<string, OperandKind>>, extra: Json = {}) => ({
    type: 'object',
    properties: Object.fromEntries(Object.entries(keys).map(([k, kind]) => [k, OPERAND[kind]])),
    additionalProperties: false,
    minProperties: 1,
    ...extra,
  });
  if (syntax.keys) return { description, ...mapping(syntax.keys) };
  const operators = syntax.operators ?? {};
  const object = mapping(
    { ...operators, ...(syntax.modifiers ?? {}) },
    {
      // exactly one operator, modifiers beside it
      oneOf: Object.keys(operators).map((op) => ({ required: [op] })),
    },
  );
  return { description, anyOf: [...(syntax.shorthand ?? []).map((k) => OPERAND[k]), object] };
}

export function policySchema(): Json {
  const plain = CRITERIA.filter((c) => !c.takesArgument);
  const withArgument = CRITERIA.filter((c) => c.takesArgument);
  const operatorList = { $ref: '#/$defs/list' };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://vallum.dev/schemas/policy.json',
    title: 'Vallum policy',
    description: 'A Vallum access policy: allow and deny blocks of criteria (deny wins). See policy/README.md.',
    $ref: '#/$defs/policy',
    $defs: {
      policy: {
        type: 'object',
        properties: {
          allow: { description: 'Any matching block allows', $ref: '#/$defs/rule' },
          deny: { description: 'Any matching block denies; deny wins over allow', $ref: '#/$defs/rule' },
          use: { description: 'The whole policy is this named policy (policy/NAME.yaml)', type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$' },
          enforce: { description: 'false: shadow mode, would-deny decisions allow and are logged and counted', type: 'boolean' },
        },
        additionalProperties: false,
        minProperties: 1,
      },
      rule: { anyOf: [{ $ref: '#/$defs/block' }, { type: 'array', items: { $ref: '#/$defs/block' } }] },
      block: {
        type: 'object',
        properties: Object.fromEntries(OPERATORS.map((op) => [op, operatorList])),
        additionalProperties: false,
        minProperties: 1,
      },
      list: { type: 'array', items: { $ref: '#/$defs/item' } },
      item: {
        description: 'One criterion, or one nested operator',
        type: 'object',
        properties: {
          ...Object.fromEntries(OPERATORS.map((op) => [op, operatorList])),
          ...Object.fromEntries(plain.map((c) => [c.name, valueSchema(c.syntax)])),
        },
        patternProperties: Object.fromEntries(withArgument.map((c) => [`^${c.name}/[^\\s/]+$`, valueSchema(c.syntax)])),
        additionalProperties: false,
        minProperties: 1,
        maxProperties: 1,
      },
    },
  };
}

export function policySchemaText(): string {
  return `${JSON.stringify(policySchema(), null, 2)}\n`;
}
