/**
 * A counter and a histogram for the metrics every request updates, whose series are bound to
 * their label set once and then updated with plain arithmetic.
 *
 * prom-client's own bound children (`counter.labels(...)`) keep the label object and hash it
 * again on every update: a sorted walk over the labels and a string built per call, about
 * 1-2 us per request in profiles. Here a series is an object the caller keeps (metrics.ts
 * keeps one per label set in a Map), and an update touches only its numbers.
 *
 * Both register with a prom-client Registry and hand it the same values prom-client's Counter
 * and Histogram hand it, so the registry formats the same exposition text: series in the order
 * of their first update, the histogram's buckets cumulative with `le` first, then `+Inf`,
 * `_sum` and `_count`. A test holds the text to prom-client's for any sequence of updates.
 */
import type { Registry } from 'prom-client';

type LabelValues<Name extends string> = Readonly<Record<Name, string>>;

/** One exposition value as prom-client's registry reads it. */
interface ExportedValue {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  metricName?: string;
}

interface ExportedMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: ExportedValue[];
  aggregator: 'sum';
}

/**
 * A series bound to one label set. Like one of prom-client's, it appears in the exposition
 * from its first update on, not when it is bound: binding a series that is never updated
 * (an upstream duration for a request that never went upstream) writes no line.
 */
abstract class Series {
  private listed = false;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    /** Its metric's exposition list, which the series joins on its first update. */
    private readonly listedIn: Series[],
  ) {}

  /** Call before every update: lists the series on its first. */
  protected listOnce(): void {
    if (this.listed) return;
    this.listed = true;
    this.listedIn.push(this);
  }
}

/** What every metric here shares: a name, a help text, its series, registration. */
abstract class BoundMetric<Name extends string, S extends Series> {
  readonly aggregator = 'sum';
  /** Every series bound so far, by label key. */
  private readonly bound = new Map<string, S>();
  /** The series updated at least once, in the order of their first update: what the exposition shows. */
  protected readonly listed: S[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly Name[],
    registers: readonly Registry[],
  ) {
    // The registry only needs name, get() and (for resetMetrics) reset(); it types its argument as prom-client's own classes.
    for (const registry of registers) registry.registerMetric(this as never);
  }

  /**
   * The series of this label set, created on first use. Label values are copied in the
   * metric's label order, which is the order the exposition writes them in.
   */
  protected seriesFor(values: LabelValues<Name>, create: (labels: Record<string, string>, listedIn: Series[]) => S): S {
    // JSON keeps any two label sets apart, whatever characters their values hold.
    const key = JSON.stringify(this.labelNames.map((name) => values[name]));
    let series = this.bound.get(key);
    if (series === undefined) {
      const labels: Record<string, string> = {};
      for (const name of this.labelNames) labels[name] = values[name];
      series = create(labels, this.listed);
      this.bound.set(key, series);
    }
    return series;
  }

  /** Zeroes every series in place, so series bound earlier keep counting (prom-client's reset() drops them). */
  abstract reset(): void;
}

/** One counter series; `inc()` adds one. */
export class CounterSeries extends Series {
  value = 0;

  inc(): void {
    this.listOnce();
    this.value++;
  }
}

/** A counter whose series are bound once ({@link BoundCounter.bind}) and incremented directly. */
export class BoundCounter<Name extends string> extends BoundMetric<Name, CounterSeries> {
  readonly type = 'counter';

  bind(values: LabelValues<Name>): CounterSeries {
    return this.seriesFor(values, (labels, listedIn) => new CounterSeries(labels, listedIn));
  }

  get(): Promise<ExportedMetric> {
    const values = this.listed.map((series) => ({ value: series.value, labels: series.labels }));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    for (const series of this.listed) series.value = 0;
  }
}

/** One histogram series: per-bucket counts (not cumulative), sum and count. */
export class HistogramSeries extends Series {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    labels: Readonly<Record<string, string>>,
    listedIn: Series[],
    private readonly upperBounds: readonly number[],
  ) {
    super(labels, listedIn);
    this.counts = new Float64Array(upperBounds.length);
  }

  /** Counts a finite value in the first bucket whose bound it does not exceed (none: only +Inf). Anything else is ignored. */
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    this.listOnce();
    this.sum += value;
    this.count++;
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        this.counts[i]++;
        return;
      }
    }
  }
}

/** A histogram whose series are bound once ({@link BoundHistogram.bind}) and observed directly. */
export class BoundHistogram<Name extends string> extends BoundMetric<Name, HistogramSeries> {
  readonly type = 'histogram';
  private readonly upperBounds: readonly number[];

  constructor(name: string, help: string, labelNames: readonly Name[], buckets: readonly number[], registers: readonly Registry[]) {
    super(name, help, labelNames, registers);
    // In the order given, as prom-client keeps them: the callers pass ascending bounds.
    this.upperBounds = [...buckets];
  }

  bind(values: LabelValues<Name>): HistogramSeries {
    return this.seriesFor(values, (labels, listedIn) => new HistogramSeries(labels, listedIn, this.upperBounds));
  }

  /** What the registry formats: each series' labels are shared by its bucket, sum and count lines. */
  getForPromString(): Promise<ExportedMetric> {
    const values: ExportedValue[] = [];
    for (const series of this.listed) {
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += series.counts[i];
        values.push({ labels: { le }, sharedLabels: series.labels, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_bucket` });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  /** The values with each series' labels merged into every line's own, as prom-client's `get()` returns them. */
  async get(): Promise<ExportedMetric> {
    const metric = await this.getForPromString();
    metric.values = metric.values.map(({ sharedLabels, ...value }) => ({ ...value, labels: { ...value.labels, ...sharedLabels } }));
    return metric;
  }

  reset(): void {
    for (const series of this.listed) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
