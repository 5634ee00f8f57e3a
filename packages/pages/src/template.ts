// A tiny template language for Vallum's pages, escaping by default:
//   {{name}} / {{a.b}}       the value, HTML-escaped (in text and in quoted attributes alike)
//   {{{content}}}            the layout's page body, already rendered from a template; the only unescaped output
//   {{#if name}}…{{else}}…{{/if}}   truthy: non-empty string or list, true, non-zero number, an object
//   {{#each list}}…{{/each}}         the item is `.`; names are looked up on the item, then outside it
// Anything else between {{ }} is a syntax error, reported with its line.

export type TemplateData = { readonly [name: string]: unknown };
export type Template = (data: TemplateData) => string;

export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'TemplateSyntaxError';
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'value'; path: string; raw: boolean }
  | { kind: 'if'; path: string; yes: Node[]; no: Node[] }
  | { kind: 'each'; path: string; body: Node[] };

const TAG = /\{\{(\{?)\s*([^{}]*?)\s*(\}?)\}\}/g;
const PATH = /^(\.|[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*)$/;

/** Compiles once; the returned function renders without parsing again. */
export function compileTemplate(text: string): Template {
  const nodes = parse(text);
  return (data) => render(nodes, [data]);
}

function parse(text: string): Node[] {
  const root: Node[] = [];
  const open: Array<{ node: Extract<Node, { kind: 'if' | 'each' }>; line: number; inElse: boolean }> = [];
  const target = (): Node[] => {
    const top = open.at(-1);
    if (!top) return root;
    if (top.node.kind === 'each') return top.node.body;
    return top.inElse ? top.node.no : top.node.yes;
  };
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  let last = 0;
  for (const m of text.matchAll(TAG)) {
    const [whole, brace, inner = '', close] = m;
    const at = m.index;
    const line = lineAt(at);
    if (at > last) target().push({ kind: 'text', text: text.slice(last, at) });
    last = at + whole.length;
    if (Boolean(brace) !== Boolean(close)) throw new TemplateSyntaxError(`unbalanced braces in '${whole}'`, line);
    const [word = '', arg = '', ...rest] = inner.split(/\s+/);
    if (brace) {
      if (inner !== 'content') throw new TemplateSyntaxError(`only {{{content}}} is written unescaped, not '${whole}'`, line);
      target().push({ kind: 'value', path: inner, raw: true });
    } else if (word === '#if' || word === '#each') {
      if (!PATH.test(arg) || rest.length > 0) throw new TemplateSyntaxError(`expected one name after ${word}`, line);
      const node: Extract<Node, { kind: 'if' | 'each' }> = word === '#if' ? { kind: 'if', path: arg, yes: [], no: [] } : { kind: 'each', path: arg, body: [] };
      target().push(node);
      open.push({ node, line, inElse: false });
    } else if (word === 'else') {
      const top = open.at(-1);
      if (!top || top.node.kind !== 'if' || top.inElse || arg) throw new TemplateSyntaxError('{{else}} outside an {{#if}}', line);
      top.inElse = true;
    } else if (word === '/if' || word === '/each') {
      const top = open.pop();
      if (!top || `/${top.node.kind}` !== word) throw new TemplateSyntaxError(`${whole} closes nothing open`, line);
    } else if (PATH.test(inner)) {
      target().push({ kind: 'value', path: inner, raw: false });
    } else {
      throw new TemplateSyntaxError(`unknown tag '${whole}'`, line);
    }
  }
  const unclosed = open.at(-1);
  if (unclosed) throw new TemplateSyntaxError(`{{#${unclosed.node.kind}}} is never closed`, unclosed.line);
  const stray = text.indexOf('{{', last);
  if (stray >= 0) throw new TemplateSyntaxError("'{{' without its '}}'", lineAt(stray));
  if (last < text.length) root.push({ kind: 'text', text: text.slice(last) });
  return root;
}

function lookup(scopes: readonly unknown[], path: string): unknown {
  if (path === '.') return scopes.at(-1);
  const [first = '', ...rest] = path.split('.');
  for (let i = scopes.length - 1; i >= 0; i--) {
    const scope = scopes[i];
    if (scope !== null && typeof scope === 'object' && Object.hasOwn(scope, first)) {
      let value: unknown = (scope as Record<string, unknown>)[first];
      for (const key of rest)
        value = value !== null && typeof value === 'object' && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
      return value;
    }
  }
  return undefined;
}

const truthy = (v: unknown): boolean => (Array.isArray(v) ? v.length > 0 : Boolean(v));

function render(nodes: readonly Node[], scopes: readonly unknown[]): string {
  let out = '';
  for (const node of nodes) {
    switch (node.kind) {
      case 'text':
        out += node.text;
        break;
      case 'value': {
        const v = lookup(scopes, node.path);
        const text = v === undefined || v === null ? '' : String(v);
        out += node.raw ? text : escapeHtml(text);
        break;
      }
      case 'if':
        out += render(truthy(lookup(scopes, node.path)) ? node.yes : node.no, scopes);
        break;
      case 'each': {
        const list = lookup(scopes, node.path);
        if (Array.isArray(list)) for (const item of list) out += render(node.body, [...scopes, item]);
        break;
      }
    }
  }
  return out;
}
