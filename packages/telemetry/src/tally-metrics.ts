// Counters and histograms for the request path. A child per label set is made once, by whoever holds it (a route in
// the proxy's state, an upstream endpoint), and counting is then a field increment: no label hashing and no
// allocation per request, which prom-client's own `labels(...)` children do on every call. The registry reads them at
// scrape time through `get()`, in prom-client's own shape, so they print (and aggregate across workers) like its own.
import type { Metric, Registry } from 'prom-client';

export interface CounterChild {
  inc(by?: number): void;
  readonly value: number;
}

export interface HistogramChild {
  /** One observation, in the histogram's unit (seconds). */
  observe(value: number): void;
  readonly count: number;
}

interface Exported {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

abstract class Tally<L extends string, C> {
  private readonly children = new Map<string, { labels: Record<L, string>; child: C }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
  ) {}

  /** The child for these label values, made on first use; keep it and count on it. */
  child(labels: Record<L, string>): C {
    const key = this.labelNames.map((n) => labels[n]).join('\u0000');
    let entry = this.children.get(key);
    if (!entry) {
      entry = { labels: { ...labels }, child: this.create() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  protected entries(): Iterable<{ labels: Record<L, string>; child: C }> {
    return this.children.values();
  }

  protected abstract create(): C;
  abstract get(): Promise<Exported>;

  /** prom-client's Registry takes its own metric classes; this has the same `name`/`get()` it reads. */
  registerIn(registry: Registry): this {
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  /** Zeroes every child in place: holders keep counting on the children they have (Registry.resetMetrics calls it). */
  reset(): void {
    for (const { child } of this.children.values()) this.zero(child);
  }

  protected abstract zero(child: C): void;
}

class CounterCell implements CounterChild {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class TallyCounter<L extends string> extends Tally<L, CounterChild> {
  readonly type = 'counter';
  protected create(): CounterChild {
    return new CounterCell();
  }
  protected zero(child: CounterChild): void {
    (child as CounterCell).value = 0;
  }
  async get(): Promise<Exported> {
    const values: Exported['values'] = [];
    for (const { labels, child } of this.entries()) values.push({ value: child.value, labels });
    return { name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values };
  }
}

class HistogramCell implements HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class TallyHistogram<L extends string> extends Tally<L, HistogramChild> {
  readonly type = 'histogram';
  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }
  protected create(): HistogramChild {
    return new HistogramCell(this.buckets);
  }
  protected zero(child: HistogramChild): void {
    const cell = child as HistogramCell;
    cell.counts.fill(0);
    cell.sum = 0;
    cell.count = 0;
  }
  async get(): Promise<Exported> {
    const values: Exported['values'] = [];
    for (const { labels, child } of this.entries()) {
      const cell = child as HistogramCell;
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += cell.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cell.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: cell.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: cell.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }
}
