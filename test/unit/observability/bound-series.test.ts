import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { BoundCounter, BoundHistogram } from '../../../proxy/src/observability/bound-series';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const LABELS = ['route', 'service'] as const;

// Label values the exposition must escape or order carefully, beside plain ones.
const labelValue = fc.constantFrom('', 'forward', 'api', 'other', 'a"b', 'back\\slash', 'new\nline', 'x\u001fy', 'x', 'é');
// Bucket bounds exactly, either side of them, zero, negatives, huge values.
const observed = fc.oneof(fc.constantFrom(...BUCKETS, 0, -1, 1e9, 0.0049999, 0.0050001, 60.0000001), fc.double({ min: -100, max: 100, noNaN: true }));

type Step = { kind: 'bind' | 'update'; route: string; service: string; value: number };
const step = fc.record({ kind: fc.constantFrom<'bind' | 'update'>('bind', 'update'), route: labelValue, service: labelValue, value: observed });

/** prom-client's own Counter and Histogram beside the bound ones, each in a registry of its own. */
function pair(): {
  reference: Registry;
  bound: Registry;
  apply(steps: Step[]): void;
  counters: [Counter<'route' | 'service'>, BoundCounter<'route' | 'service'>];
  histograms: [Histogram<'route' | 'service'>, BoundHistogram<'route' | 'service'>];
} {
  const reference = new Registry();
  const bound = new Registry();
  const counter = new Counter({ name: 'c_total', help: 'A "counter"\\ with\nescapes.', labelNames: LABELS, registers: [reference] });
  const histogram = new Histogram({ name: 'h_seconds', help: 'A histogram.', labelNames: LABELS, buckets: BUCKETS, registers: [reference] });
  const boundCounter = new BoundCounter('c_total', 'A "counter"\\ with\nescapes.', LABELS, [bound]);
  const boundHistogram = new BoundHistogram('h_seconds', 'A histogram.', LABELS, BUCKETS, [bound]);
  return {
    reference,
    bound,
    counters: [counter, boundCounter],
    histograms: [histogram, boundHistogram],
    // Both sides bind a child per step, as metrics.ts binds one per label set; only 'update' steps count.
    apply(steps) {
      for (const { kind, route, service, value } of steps) {
        const labels = { route, service };
        const [referenceCounter, referenceHistogram] = [counter.labels(labels), histogram.labels(labels)];
        const [boundCounterSeries, boundHistogramSeries] = [boundCounter.bind(labels), boundHistogram.bind(labels)];
        if (kind !== 'update') continue;
        referenceCounter.inc();
        boundCounterSeries.inc();
        referenceHistogram.observe(value);
        boundHistogramSeries.observe(value);
      }
    },
  };
}

describe('bound series', () => {
  it('render the exposition text prom-client renders, for any sequence of binds and updates', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
        const { reference, bound, apply } = pair();
        apply(steps);
        expect(await bound.metrics()).toBe(await reference.metrics());
      }),
      { numRuns: 300 },
    );
  });

  it("return prom-client's values from get(), labels merged as its get() merges them", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 30 }), async (steps) => {
        const { counters, histograms, apply } = pair();
        apply(steps);
        expect((await counters[1].get()).values).toEqual((await counters[0].get()).values);
        const [referenceHistogram, boundHistogram] = [await histograms[0].get(), await histograms[1].get()];
        expect(boundHistogram.values).toEqual((referenceHistogram.values as Array<Record<string, unknown>>).map(({ exemplar: _exemplar, ...value }) => value));
      }),
      { numRuns: 200 },
    );
  });

  it('keep label sets apart whatever their values hold', async () => {
    const { bound, counters } = pair();
    counters[1].bind({ route: 'a\u001fb', service: 'c' }).inc();
    counters[1].bind({ route: 'a', service: 'b\u001fc' }).inc();
    counters[1].bind({ route: 'a","b', service: 'c' }).inc();
    counters[1].bind({ route: 'a', service: 'b","c' }).inc();
    const text = await bound.metrics();
    expect(text.split('\n').filter((line) => line.startsWith('c_total{'))).toHaveLength(4);
  });

  it('write no line for a series that was bound and never updated', async () => {
    const { bound, histograms, counters } = pair();
    const series = histograms[1].bind({ route: 'forward', service: 'api' });
    counters[1].bind({ route: 'forward', service: 'api' });
    expect(await bound.metrics()).not.toContain('service="api"');
    series.observe(0.2);
    const text = await bound.metrics();
    expect(text).toContain('h_seconds_bucket{le="0.25",route="forward",service="api"} 1');
    expect(text).toContain('h_seconds_count{route="forward",service="api"} 1');
    expect(text).not.toContain('c_total{');
  });

  it('ignore a value that is not a finite number instead of counting it', async () => {
    const { bound, histograms } = pair();
    const series = histograms[1].bind({ route: 'forward', service: 'api' });
    series.observe(Number.NaN);
    series.observe(Number.POSITIVE_INFINITY);
    expect(await bound.metrics()).not.toContain('h_seconds_count');
    series.observe(1);
    expect(await bound.metrics()).toContain('h_seconds_count{route="forward",service="api"} 1');
  });

  it('keep counting in series bound before a reset, from zero', async () => {
    const { bound, counters } = pair();
    const series = counters[1].bind({ route: 'forward', service: 'api' });
    series.inc();
    series.inc();
    bound.resetMetrics();
    expect(await bound.metrics()).toContain('c_total{route="forward",service="api"} 0');
    series.inc();
    expect(await bound.metrics()).toContain('c_total{route="forward",service="api"} 1');
  });
});
