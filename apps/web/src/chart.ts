import {
  CandlestickSeries,
  createChart,
  createSeriesMarkers,
  HistogramSeries,
  IChartApi,
  ISeriesApi,
  ISeriesMarkersPluginApi,
  MouseEventParams,
  SeriesMarker,
  Time,
  UTCTimestamp,
} from 'lightweight-charts';
import type { Gap } from './api';
import { Candle, candleAtOrBefore, timeToDay } from './format';

const UP = '#0f766e';
const DOWN = '#b91c1c';

/**
 * lightweight-charts (a chunk of its own, imported when the first chart is due, so the page's
 * first requests leave before this is parsed): candles in the main pane, volume in a second pane below; the crosshair's
 * values go to `onHover` (the legend); gaps are markers under the candle where they start.
 */
export class CandleChart {
  private readonly chart: IChartApi;
  private readonly candles: ISeriesApi<'Candlestick'>;
  private readonly volume: ISeriesApi<'Histogram'>;
  private readonly markers: ISeriesMarkersPluginApi<Time>;
  private data: Candle[] = [];
  private times: number[] = [];

  constructor(
    container: HTMLElement,
    private readonly onHover: (candle: Candle | undefined) => void,
  ) {
    this.chart = createChart(container, {
      autoSize: true,
      layout: {
        background: { color: '#ffffff' },
        textColor: '#1f2937',
        fontSize: 12,
        // The built-in logo injects an inline <style>, which the page's CSP refuses; index.html
        // carries the attribution the library's licence asks for as a plain link instead.
        attributionLogo: false,
      },
      grid: { vertLines: { color: '#eef0f3' }, horzLines: { color: '#eef0f3' } },
      // Down to 0.05 px a bar, so fitContent shows 20 years of daily bars at once.
      timeScale: { borderColor: '#d1d5db', minBarSpacing: 0.05 },
      rightPriceScale: { borderColor: '#d1d5db' },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      borderUpColor: UP,
      borderDownColor: DOWN,
      wickUpColor: UP,
      wickDownColor: DOWN,
    });
    this.volume = this.chart.addSeries(
      HistogramSeries,
      { priceFormat: { type: 'volume' }, color: '#94a3b8' },
      1,
    );
    this.chart.panes()[1]?.setStretchFactor(0.3);
    this.markers = createSeriesMarkers(this.candles, []);
    this.chart.subscribeCrosshairMove((param: MouseEventParams<Time>) => {
      if (param.time === undefined) return this.onHover(undefined);
      const i = candleAtOrBefore(this.times, timeToDay(param.time as number));
      this.onHover(i >= 0 ? this.data[i] : undefined);
    });
  }

  show(candles: Candle[], gaps: Gap[]): void {
    this.data = candles;
    this.times = candles.map((c) => c.time);
    this.candles.setData(
      candles.map((c) => ({
        time: c.time as UTCTimestamp,
        open: c.open,
        high: c.high,
        low: c.low,
        close: c.close,
      })),
    );
    this.volume.setData(
      candles.map((c) => ({
        time: c.time as UTCTimestamp,
        value: c.volume,
        color: c.close >= c.open ? '#5eead4' : '#fca5a5',
      })),
    );
    const marks: SeriesMarker<Time>[] = [];
    for (const gap of gaps) {
      const i = candleAtOrBefore(this.times, gap.start);
      if (i < 0) continue;
      const previous = marks[marks.length - 1];
      // Several gaps inside one week/month: one marker, the days added up.
      if (previous && previous.time === this.times[i]) {
        previous.text = `gap ${Number(previous.id) + gap.businessDays}d`;
        previous.id = String(Number(previous.id) + gap.businessDays);
        continue;
      }
      marks.push({
        time: this.times[i] as UTCTimestamp,
        position: 'belowBar',
        shape: 'square',
        color: '#b45309',
        text: `gap ${gap.businessDays}d`,
        id: String(gap.businessDays),
      });
    }
    this.markers.setMarkers(marks);
    this.chart.timeScale().fitContent();
    this.onHover(candles[candles.length - 1]);
  }
}
