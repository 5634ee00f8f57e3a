// deploy/grafana/vallum.json only charts metrics Vallum's registry really has: a renamed or mistyped metric would
// leave a panel empty without any error in Grafana.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createMetrics, metricNames } from './metrics.js';

const DASHBOARD = new URL('../../../deploy/grafana/vallum.json', import.meta.url);
/** Grafana's reference to the dashboard's `datasource` variable (a Grafana placeholder, not a template string). */
const GRAFANA_DATASOURCE_VARIABLE = '$' + '{datasource}';
const PROMQL_WORDS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'rate',
  'irate',
  'increase',
  'histogram_quantile',
  'by',
  'without',
  'on',
  'and',
  'or',
  'unless',
]);

interface Panel {
  title?: string;
  type: string;
  targets?: Array<{ expr: string }>;
  datasource?: { type: string; uid: string };
}

/** The metric names an expression reads: what is left once label matchers, ranges, groupings and functions are gone. */
function metricsOf(expr: string): string[] {
  const bare = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without)\s*\([^)]*\)/g, ' ')
    .replace(/"[^"]*"/g, ' ');
  return (bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []).filter((w) => !PROMQL_WORDS.has(w));
}

test('every metric the dashboard charts is one the registry exports, and the data source is the templated Prometheus', async () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Panel[];
    templating: { list: Array<{ name: string; type: string; query: unknown }> };
  };
  const known = await metricNames(createMetrics({ service: 'all' }));
  const datasource = dashboard.templating.list.find((v) => v.name === 'datasource');
  assert.deepEqual(datasource && { type: datasource.type, query: datasource.query }, { type: 'datasource', query: 'prometheus' });
  const charts = dashboard.panels.filter((p) => p.type !== 'row');
  assert.ok(charts.length >= 10);
  const used = new Set<string>();
  for (const panel of charts) {
    assert.deepEqual(panel.datasource, { type: 'prometheus', uid: GRAFANA_DATASOURCE_VARIABLE }, panel.title);
    assert.ok(panel.targets?.length, `${panel.title} has no query`);
    for (const { expr } of panel.targets ?? []) {
      const names = metricsOf(expr);
      assert.ok(names.length > 0, `${panel.title}: no metric in ${expr}`);
      for (const name of names) {
        assert.ok(known.has(name), `${panel.title}: ${name} is not a metric Vallum exports`);
        used.add(name.replace(/_(bucket|sum|count)$/, ''));
      }
    }
  }
  // Every vallum_ metric has a panel.
  for (const name of known) if (name.startsWith('vallum_') && !/_(bucket|sum|count)$/.test(name)) assert.ok(used.has(name), `no panel for ${name}`);
});

test('metricsOf finds the metric names of an expression and nothing else', () => {
  assert.deepEqual(metricsOf('histogram_quantile(0.99, sum by (route, le) (rate(vallum_x_bucket{service=~"$service"}[$__rate_interval])))'), [
    'vallum_x_bucket',
  ]);
  assert.deepEqual(metricsOf('sum(rate(a_total[5m])) / sum(rate(b_total{x="y"}[5m]))'), ['a_total', 'b_total']);
});
