// A parser for Prometheus' text exposition format (0.0.4), strict enough to fail a test on a malformed scrape:
// every sample line must be `name{label="value",…} number`, every family declared by # TYPE before its samples.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Family name → its # TYPE. */
  types: Map<string, string>;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((line, i) => {
    const fail = (why: string) => {
      throw new Error(`line ${i + 1}: ${why}: ${line}`);
    };
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/.exec(line);
      if (!m) return;
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3] ?? '')) fail('unknown type');
        if (types.has(m[2]!)) fail('family declared twice');
        types.set(m[2]!, m[3]!);
      }
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) return fail('not a sample');
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const start = LABEL.lastIndex;
      const l = LABEL.exec(body);
      if (!l || LABEL.lastIndex === start) return fail('bad labels');
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    }
    // Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client prints `Nan`).
    const raw = m[3]!.toLowerCase();
    const value = raw === '+inf' || raw === 'inf' ? Infinity : raw === '-inf' ? -Infinity : raw === 'nan' ? NaN : Number(raw);
    if (Number.isNaN(value) && raw !== 'nan') fail('bad value');
    const name = m[1]!;
    const family = [name, name.replace(/_(bucket|sum|count|total)$/, '')].find((n) => types.has(n));
    if (family === undefined) fail('sample without a # TYPE');
    samples.push({ name, labels, value });
  });
  return { types, samples };
}

/** The sum of the samples with this name whose labels include `labels`; 0 when there is none. */
export function sampleValue(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const s of exposition.samples) {
    if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

/** One metric's value at a metrics listener (`http://host:port`), scraped now: the sum over series matching `labels`. */
export async function scrapeValue(metricsUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${metricsUrl}/metrics`);
  if (!res.ok) throw new Error(`scraping ${metricsUrl}/metrics: HTTP ${res.status}`);
  return sampleValue(parseExposition(await res.text()), name, labels);
}
