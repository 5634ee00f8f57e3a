// YAML parsed with positions, so every config problem can name its file:line:column.
import { LineCounter, parseDocument, isMap, isSeq, type Document, type Node } from 'yaml';
import type { ConfigPath, LocatedIssue } from './config-issues.js';

/** A YAML document with `file:line:column` for any offset in it, and its syntax errors located. */
export function parseLocatedYaml(text: string, file: string): { doc: Document; at(offset: number | undefined): string; syntaxErrors: LocatedIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): string => {
    if (offset === undefined) return file;
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const syntaxErrors = doc.errors.map((e) => ({ path: [], location: at(e.pos[0]), message: `YAML syntax: ${e.message.split('\n')[0]}` }));
  return { doc, at, syntaxErrors };
}

/** The deepest existing node on `path`, so a missing key points at the mapping that lacks it. */
export function nodeFor(doc: Document, path: ConfigPath, atKey: boolean): Node | undefined {
  let node = doc.contents as Node | null;
  for (const [i, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) return node;
      if (atKey && i === path.length - 1) return pair.key as Node;
      node = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key] as Node | undefined;
      if (!item) return node;
      node = item;
    } else {
      return node ?? undefined;
    }
  }
  return node ?? undefined;
}
