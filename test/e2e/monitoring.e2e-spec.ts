import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { register } from 'prom-client';
import { parse } from 'yaml';
import { bar, TestApp } from './support/test-app';

const MONITORING = join(__dirname, '../../monitoring');

/** Labels Prometheus or the histogram type add to every series. */
const SCRAPE_LABELS = new Set(['job', 'instance', 'le']);
/** Series Prometheus itself produces, not the service. */
const PROMETHEUS_SERIES = new Set(['up']);

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

export interface Selector {
  metric: string;
  labels: string[];
}

/** The metric names and label matchers a PromQL expression (or Grafana query) uses. */
export function selectorsIn(expr: string): Selector[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // string literals (label values, regexes)
    .replace(/\$\{?\w+\}?/g, '1') // Grafana variables ($__rate_interval, $job)
    .replace(/\[[^\]]*\]/g, '') // range selectors [5m]
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ''); // groupings
  const found: Selector[] = [];
  const token = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?/g;
  for (const m of text.matchAll(token)) {
    const [, name, matchers, call] = m;
    const before = text.slice(0, m.index);
    if (call || PROMQL_WORDS.has(name.toLowerCase())) continue; // functions, aggregations, keywords
    if (/[\d.]$/.test(before) || /\{[^}]*$/.test(before)) continue; // 5m, 1e3, inside braces
    const labels = [...(matchers ?? '').matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)/g)].map(
      (l) => l[1],
    );
    found.push({ metric: name, labels });
  }
  return found;
}

/** The rule files Prometheus loads (prometheus.yml `rule_files`). */
const RULE_FILES = ['alerts.yml', 'slo.yml'];

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}

function rules(): { file: string; rule: Rule }[] {
  return RULE_FILES.flatMap((file) => {
    const doc = parse(readFileSync(join(MONITORING, 'prometheus', file), 'utf8')) as {
      groups: { rules: Rule[] }[];
    };
    return doc.groups.flatMap((g) => g.rules.map((rule) => ({ file, rule })));
  });
}

function alertExpressions(): { where: string; expr: string }[] {
  return rules().map(({ file, rule }) => ({
    where: `${file} ${rule.alert ?? rule.record}`,
    expr: String(rule.expr),
  }));
}

/**
 * Series the rule files record (SLO error ratios): other rules and dashboards may read them, but
 * only without label matchers, since a recorded series keeps no labels of the metrics it sums.
 * Their own expressions are checked like any other.
 */
const RECORDED = new Set(rules().flatMap(({ rule }) => (rule.record ? [rule.record] : [])));

interface Dashboard {
  title: string;
  panels: { title: string; targets?: { expr?: string }[] }[];
  templating?: { list: { name: string; query?: string | { query?: string } }[] };
}

function dashboardExpressions(): { where: string; expr: string }[] {
  const dir = join(MONITORING, 'grafana/dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((file) => {
      const d = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Dashboard;
      const panels = d.panels.flatMap((p) =>
        (p.targets ?? []).map((t) => ({ where: `${file} "${p.title}"`, expr: t.expr ?? '' })),
      );
      const variables = (d.templating?.list ?? []).map((v) => {
        const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
        // label_values(selector, label): the label must exist on the selected metric.
        const m = /^label_values\((.*),\s*(\w+)\s*\)$/.exec(q.trim());
        const expr = !m
          ? q
          : m[1].includes('}')
            ? m[1].replace(/\}\s*$/, `, ${m[2]}=""}`)
            : `${m[1]}{${m[2]}=""}`;
        return { where: `${file} variable $${v.name}`, expr };
      });
      return [...panels, ...variables];
    });
}

/** The series names a metric family exposes, with the labels each may carry. */
async function exposedSeries(): Promise<Map<string, Set<string>>> {
  const series = new Map<string, Set<string>>();
  for (const family of await register.getMetricsAsJSON()) {
    const metric = register.getSingleMetric(family.name) as unknown as { labelNames?: string[] };
    const labels = new Set([
      ...(metric?.labelNames ?? []),
      ...family.values.flatMap((v) => Object.keys(v.labels)),
    ]);
    const names =
      String(family.type) === 'histogram'
        ? ['_bucket', '_sum', '_count'].map((s) => family.name + s)
        : String(family.type) === 'summary'
          ? ['', '_sum', '_count'].map((s) => family.name + s)
          : [family.name];
    for (const n of names) series.set(n, labels);
  }
  return series;
}

describe('selectorsIn (the PromQL reader the monitoring check uses)', () => {
  it('finds metrics and their label matchers, not functions, keywords or variables', () => {
    expect(
      selectorsIn(
        'histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{job="$job", route=~"/a|b"}[5m]))) > 0.5 and on(instance) up == 0',
      ),
    ).toEqual([
      { metric: 'http_request_duration_seconds_bucket', labels: ['job', 'route'] },
      { metric: 'up', labels: [] },
    ]);
    expect(selectorsIn('sum(rate(x_total[$__rate_interval])) * 60 unless y')).toEqual([
      { metric: 'x_total', labels: [] },
      { metric: 'y', labels: [] },
    ]);
  });
});

/**
 * Every dashboard panel, dashboard variable and alert rule reads metrics the service really
 * exposes, with labels those metrics really have: a renamed metric or label fails here, not on an
 * operator's empty graph.
 */
describe('monitoring/ against the metrics the service exposes', () => {
  const t = new TestApp('sqlite');
  let series: Map<string, Set<string>>;

  beforeAll(async () => {
    await t.start();
    // Traffic of every kind, so labelled series exist.
    await t.http.post('/api/v1/data').send([bar()]).expect(200);
    await t.http.get('/api/v1/data?symbol=AAPL').expect(200);
    await t.http.get('/no-such-route').expect(404);
    await t.http
      .post('/api/v1/data/upload')
      .set('Content-Type', 'text/csv')
      .send('symbol,date,open,high,low,close,volume\nMON,2024-01-02,1,2,1,1.5,10\n')
      .expect(200);
    await t.http.get('/metrics').expect(200);
    series = await exposedSeries();
  });
  afterAll(() => t.stop());

  const expressions = [...alertExpressions(), ...dashboardExpressions()];

  it('finds expressions to check in every dashboard and in the alert rules', () => {
    expect(expressions.length).toBeGreaterThan(30);
    for (const file of ['alerts.yml', 'slo.yml', 'api-overview', 'database', 'ingest', 'runtime']) {
      expect(expressions.some((e) => e.where.startsWith(file))).toBe(true);
    }
  });

  it.each(expressions.map((e) => [e.where, e.expr]))('%s', (_where, expr) => {
    const selectors = selectorsIn(expr);
    expect(selectors.length).toBeGreaterThan(0);
    for (const { metric, labels } of selectors) {
      if (PROMETHEUS_SERIES.has(metric)) continue;
      if (RECORDED.has(metric)) {
        expect({ metric, labels }).toEqual({ metric, labels: [] });
        continue;
      }
      expect({ metric, exposed: series.has(metric) }).toEqual({ metric, exposed: true });
      const known = series.get(metric)!;
      for (const label of labels) {
        if (SCRAPE_LABELS.has(label)) continue;
        expect({ metric, label, known: known.has(label) }).toEqual({ metric, label, known: true });
      }
    }
  });
});
