import {
  AggregateRow,
  ApiError,
  apiKey,
  authHeaders,
  availability,
  Bar,
  Gap,
  getJson,
  Pagination,
  request,
  SymbolSummary,
  UploadAccepted,
  UploadCounts,
  UploadReport,
  UploadView,
} from './api';
import type { CandleChart } from './chart';
import {
  Candle,
  csvCandles,
  dayToTime,
  describeCandle,
  exportUrl,
  filterParams,
  formatBytes,
  formatDuration,
  formatInteger,
  formatPrice,
  Interval,
  INTERVALS,
  ProgressSample,
  queryString,
  toProblem,
  uploadRate,
  ViewFilter,
} from './format';

/*
 * The page's wiring: plain DOM, no framework (index.html holds the markup; this file fills it).
 * Hooks the browser spec waits on: #chart[data-candles][data-interval] once a view is drawn,
 * the performance mark "hd:first-render" (docs/ARCHITECTURE.md, "Data explorer", defines it).
 */

// The first chart waits on the symbol list, then on its bars, then on lightweight-charts: the
// list is asked for and the chart's chunk fetched before anything else is wired (this chunk is
// small and parses in milliseconds; the chart library is most of the page's weight).
const chartModule = import('./chart');
const firstSymbols = fetchSymbols();

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as T;
};

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// ---- messages, banner, status ----------------------------------------------------------------

const message = $('message');
function showMessage(text: string, kind: 'error' | 'info' = 'error'): void {
  message.textContent = text;
  message.dataset.kind = kind;
  message.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  message.hidden = false;
}
function clearMessage(): void {
  message.hidden = true;
  message.textContent = '';
}
function fail(err: unknown): void {
  showMessage(err instanceof Error ? err.message : String(err));
}

const banner = $('banner');
availability.listeners.push((down, detail) => {
  banner.hidden = !down;
  banner.textContent = down
    ? `The API is unavailable (503)${detail ? `: ${detail}` : ''}. Retrying in the background.`
    : '';
});

async function refreshReadiness(): Promise<void> {
  const pill = $('ready-pill');
  try {
    const res = await fetch('/health/ready', { headers: { Accept: 'application/json' } });
    pill.dataset.state = res.ok ? 'ready' : 'down';
    pill.textContent = res.ok ? 'Ready' : `Not ready (${res.status})`;
    if (res.status === 503) {
      const problem = toProblem(503, await res.json().catch(() => undefined));
      availability.report(true, problem.detail ?? 'not ready');
    } else availability.report(false);
  } catch {
    pill.dataset.state = 'down';
    pill.textContent = 'Unreachable';
    availability.report(true, 'The API cannot be reached.');
  }
}

async function loadVersion(): Promise<void> {
  try {
    const doc = await getJson<{ info?: { title?: string; version?: string } }>('/docs-json');
    if (doc.info?.version) $('version').textContent = `API v${doc.info.version}`;
  } catch {
    // The version is decoration: readiness already reports an unreachable API.
  }
}

// ---- API key ------------------------------------------------------------------------------------

function showKeyState(): void {
  $('key-state').textContent = apiKey.get()
    ? 'Key set for this tab (sent as X-API-Key).'
    : 'No key: reads only.';
}
$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>('api-key');
  const key = input.value.trim();
  if (key) apiKey.set(key);
  input.value = '';
  showKeyState();
  clearMessage();
});
$('key-forget').addEventListener('click', () => {
  apiKey.clear();
  showKeyState();
});

// ---- downloads (exports, rejected rows) ----------------------------------------------------

/**
 * Without a key the browser downloads the link itself (streamed to disk). With one, the key has
 * to go in a header, which a link cannot send: fetched, then saved from a blob.
 */
async function keyedDownload(link: HTMLAnchorElement): Promise<void> {
  const res = await request(link.href, { headers: { Accept: '*/*' } });
  const disposition = res.headers.get('Content-Disposition') ?? '';
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? 'download';
  const url = URL.createObjectURL(await res.blob());
  const a = el('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
for (const id of ['export-csv', 'export-ndjson', 'rejected-link']) {
  const link = $<HTMLAnchorElement>(id);
  link.addEventListener('click', (event) => {
    if (!apiKey.get()) return;
    event.preventDefault();
    keyedDownload(link).catch(fail);
  });
}

// ---- symbols ---------------------------------------------------------------------------------

let symbols: SymbolSummary[] = [];
let view: ViewFilter & { interval: Interval } = { symbol: '', interval: 'day' };

/**
 * Every page of the symbol list. Page 1's URL is the one index.html preloads (the browser asks
 * for it before this script has loaded; the server drops the preload when reads need a key):
 * change one, change both (test/e2e/explorer.e2e-spec.ts checks the pair).
 */
async function fetchSymbols(): Promise<SymbolSummary[]> {
  const all: SymbolSummary[] = [];
  for (let page = 1; page <= 50; page++) {
    const res = await getJson<{ data: SymbolSummary[]; pagination: Pagination }>(
      `/api/v1/symbols${queryString({ page, limit: 1000 })}`,
    );
    all.push(...res.data);
    if (page >= res.pagination.totalPages) break;
  }
  return all;
}

function showSymbols(list: SymbolSummary[]): void {
  symbols = list;
  renderSymbols();
}

async function loadSymbols(): Promise<void> {
  showSymbols(await fetchSymbols());
}

function renderSymbols(): void {
  const filter = $<HTMLInputElement>('symbol-search').value.trim().toUpperCase();
  const list = $('symbol-list');
  const shown = filter ? symbols.filter((s) => s.symbol.includes(filter)) : symbols;
  const items = shown.slice(0, 500).map((s) => {
    const button = el('button', undefined, 'symbol');
    button.type = 'button';
    button.dataset.symbol = s.symbol;
    button.setAttribute('aria-pressed', String(s.symbol === view.symbol));
    button.append(
      el('span', s.symbol, 'symbol-name'),
      el('span', `${s.firstDate} – ${s.lastDate}`, 'symbol-range'),
      el('span', `${formatInteger(s.bars)} bar${s.bars === 1 ? '' : 's'}`, 'symbol-bars'),
    );
    button.addEventListener('click', () => selectSymbol(s.symbol));
    const li = el('li');
    li.append(button);
    return li;
  });
  list.replaceChildren(...items);
  $('symbols-empty').hidden = symbols.length > 0;
  $('symbols-count').textContent = symbols.length
    ? `${shown.length} of ${symbols.length} symbols${shown.length > 500 ? ' (first 500 listed)' : ''}`
    : '';
}
$('symbol-search').addEventListener('input', renderSymbols);

function selectSymbol(symbol: string): void {
  view = { ...view, symbol };
  for (const b of document.querySelectorAll<HTMLButtonElement>('#symbol-list button')) {
    b.setAttribute('aria-pressed', String(b.dataset.symbol === symbol));
  }
  $('chart-title').textContent = `Chart: ${symbol}`;
  refreshView();
}

// ---- chart -----------------------------------------------------------------------------------

const chartBox = $('chart');
const legend = $('legend');
let chart: CandleChart | undefined;
/**
 * The chart, created once its chunk is in and the first view's requests have left: its setup
 * and first layout then overlap the server's answer instead of following it.
 */
function getChart(module: typeof import('./chart')): CandleChart {
  chart ??= new module.CandleChart(chartBox, (c) => {
    legend.textContent = c ? describeCandle(c, view.interval) : '';
  });
  return chart;
}
let viewToken = 0;

/** Run once the first chart is drawn (or there is none to draw): what the first render need not wait for. */
let afterFirstRender: (() => void) | undefined = () => void loadVersion();
function firstRenderDone(): void {
  afterFirstRender?.();
  afterFirstRender = undefined;
}

/** Daily bars of the view in one streamed request (the export as CSV), not 1000-row pages. */
async function dailyCandles(filter: ViewFilter): Promise<Candle[]> {
  return csvCandles(
    await (await request(exportUrl(filter, 'csv'), { headers: { Accept: 'text/csv' } })).text(),
  );
}

async function aggregateCandles(filter: ViewFilter, interval: Interval): Promise<Candle[]> {
  const res = await getJson<{ data: AggregateRow[] }>(
    `/api/v1/data/aggregate${queryString({ ...filterParams(filter), interval })}`,
  );
  return res.data.map((r) => ({ ...r, time: dayToTime(r.periodStart), end: r.periodEnd }));
}

async function loadChart(): Promise<void> {
  if (!view.symbol) return;
  const token = ++viewToken;
  const started = performance.now();
  chartBox.setAttribute('aria-busy', 'true');
  const created = chartModule.then(getChart);
  const [candles, gaps, shown] = await Promise.all([
    view.interval === 'day' ? dailyCandles(view) : aggregateCandles(view, view.interval),
    getJson<{ data: Gap[] }>(`/api/v1/symbols/${encodeURIComponent(view.symbol)}/gaps`).then(
      (g) => g.data,
      () => [] as Gap[],
    ),
    created,
  ]);
  if (token !== viewToken) return;
  const inView = gaps.filter(
    (g) => (!view.start || g.end >= view.start) && (!view.end || g.start <= view.end),
  );
  shown.show(candles, inView);
  chartBox.dataset.candles = String(candles.length);
  chartBox.dataset.interval = view.interval;
  chartBox.dataset.symbol = view.symbol;
  chartBox.setAttribute(
    'aria-label',
    `${view.symbol}: ${candles.length} ${view.interval} candles with volume`,
  );
  chartBox.removeAttribute('aria-busy');
  $('gaps').textContent = inView.length
    ? `Gaps of 3+ missing business days (marked under the candles): ${inView
        .slice(0, 5)
        .map((g) => `${g.start} – ${g.end} (${g.businessDays}d)`)
        .join(', ')}${inView.length > 5 ? ` and ${inView.length - 5} more` : ''}.`
    : 'No gaps of 3+ missing business days.';
  if (afterFirstRender) {
    // lightweight-charts paints in its own animation-frame callback, queued by show(): this one
    // runs after it, in the same frame, once the candles are on the canvas.
    requestAnimationFrame(() => {
      if (!afterFirstRender) return;
      performance.mark('hd:first-render');
      firstRenderDone();
    });
  }
  chartBox.dataset.loadMs = String(Math.round(performance.now() - started));
}

// ---- table (cursor paging) -----------------------------------------------------------------

const PAGE_SIZE = 50;
/** Cursor of each page visited; [0] is the first page (no cursor). */
let cursors: (string | undefined)[] = [undefined];
let pageIndex = 0;
let nextCursor: string | null | undefined;

async function loadTable(): Promise<void> {
  if (!view.symbol) return;
  const token = viewToken;
  const res = await getJson<{ data: Bar[]; pagination: Pagination }>(
    `/api/v1/data${queryString({ ...filterParams(view), limit: PAGE_SIZE, cursor: cursors[pageIndex] })}`,
  );
  if (token !== viewToken) return;
  nextCursor = res.pagination.nextCursor;
  const rows = res.data.map((b) => {
    const tr = el('tr');
    tr.append(
      el('td', b.date),
      el('td', formatPrice(b.open), 'num'),
      el('td', formatPrice(b.high), 'num'),
      el('td', formatPrice(b.low), 'num'),
      el('td', formatPrice(b.close), 'num'),
      el('td', formatInteger(b.volume), 'num'),
    );
    return tr;
  });
  $('bars-table')
    .querySelector('tbody')!
    .replaceChildren(...rows);
  const first = pageIndex * PAGE_SIZE + 1;
  const total = res.pagination.total;
  $('page-info').textContent = res.data.length
    ? `Rows ${formatInteger(first)}–${formatInteger(first + res.data.length - 1)}${total ? ` of ${formatInteger(total)}` : ''}`
    : 'No bars in this range.';
  $<HTMLButtonElement>('page-prev').disabled = pageIndex === 0;
  $<HTMLButtonElement>('page-next').disabled = !nextCursor;
}
$('page-next').addEventListener('click', () => {
  if (!nextCursor) return;
  cursors = cursors.slice(0, pageIndex + 1);
  cursors.push(nextCursor);
  pageIndex++;
  loadTable().catch(fail);
});
$('page-prev').addEventListener('click', () => {
  if (pageIndex === 0) return;
  pageIndex--;
  loadTable().catch(fail);
});

function refreshView(): void {
  clearMessage();
  cursors = [undefined];
  pageIndex = 0;
  $<HTMLAnchorElement>('export-csv').href = exportUrl(view, 'csv');
  $<HTMLAnchorElement>('export-ndjson').href = exportUrl(view, 'ndjson');
  loadChart()
    .then(() => loadTable())
    .catch((err: unknown) => {
      fail(err);
      firstRenderDone();
    });
}

$('view-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const interval = $<HTMLSelectElement>('interval').value as Interval;
  const start = $<HTMLInputElement>('start-date').value || undefined;
  const end = $<HTMLInputElement>('end-date').value || undefined;
  if (start && end && start > end) {
    showMessage('"From" is after "To": pick a range that runs forwards.');
    return;
  }
  view = { ...view, interval: INTERVALS.includes(interval) ? interval : 'day', start, end };
  refreshView();
});
$('interval').addEventListener('change', () => $<HTMLFormElement>('view-form').requestSubmit());
$('range-all').addEventListener('click', () => {
  $<HTMLInputElement>('start-date').value = '';
  $<HTMLInputElement>('end-date').value = '';
  $<HTMLFormElement>('view-form').requestSubmit();
});

// ---- upload ----------------------------------------------------------------------------------

let chosen: File | undefined;
const fileInput = $<HTMLInputElement>('upload-file');
const dropZone = $('drop-zone');
function choose(file: File | undefined): void {
  chosen = file;
  $('file-name').textContent = file ? `${file.name} (${formatBytes(file.size)})` : '';
}
fileInput.addEventListener('change', () => choose(fileInput.files?.[0]));
dropZone.addEventListener('dragover', (event) => {
  event.preventDefault();
  dropZone.classList.add('dragging');
});
dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
dropZone.addEventListener('drop', (event) => {
  event.preventDefault();
  dropZone.classList.remove('dragging');
  choose(event.dataTransfer?.files[0]);
});

const progressBox = $('upload-progress');
const progressBar = $<HTMLProgressElement>('upload-bar');
const uploadStats = $('upload-stats');

function setProgress(phase: string, percent: number | undefined, stats: string): void {
  progressBox.hidden = false;
  $('upload-phase').textContent = phase;
  if (percent === undefined) progressBar.removeAttribute('value');
  else progressBar.value = percent;
  uploadStats.textContent = stats;
}

/** XMLHttpRequest, not fetch: only XHR reports upload progress (bytes sent). */
function send(url: string, file: File, async: boolean): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader('Accept', 'application/json');
    if (async) xhr.setRequestHeader('Prefer', 'respond-async');
    xhr.upload.addEventListener('progress', (e) => {
      const total = e.lengthComputable ? e.total : file.size;
      setProgress(
        'Sending',
        total ? (100 * e.loaded) / total : undefined,
        `${formatBytes(e.loaded)} of ${formatBytes(total)} sent`,
      );
    });
    xhr.upload.addEventListener('load', () =>
      setProgress(async ? 'Queuing' : 'Processing', undefined, 'Sent; waiting for the report…'),
    );
    xhr.addEventListener('load', () => {
      let body: unknown = xhr.responseText;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: kept as text for the message
      }
      resolve({ status: xhr.status, body });
    });
    xhr.addEventListener('error', () => reject(new Error('The upload failed: network error.')));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

async function pollUpload(accepted: UploadAccepted): Promise<UploadView> {
  const url = `/api/v1/uploads/${encodeURIComponent(accepted.uploadId)}`;
  let first: ProgressSample | undefined;
  for (;;) {
    const upload = await getJson<UploadView>(url);
    const sample = { at: performance.now(), ...upload.progress };
    first ??= sample;
    const rate = uploadRate(first, sample, upload.progress.bytesTotal);
    if (upload.status !== 'queued' && upload.status !== 'processing') return upload;
    setProgress(
      upload.status === 'queued' ? 'Queued' : 'Processing',
      rate.percent,
      `${formatInteger(upload.progress.rows)} rows` +
        (rate.rowsPerSecond ? ` · ${formatInteger(rate.rowsPerSecond)} rows/s` : '') +
        (rate.etaSeconds !== undefined ? ` · about ${formatDuration(rate.etaSeconds)} left` : ''),
    );
    await new Promise((r) => setTimeout(r, 500));
  }
}

function showReport(uploadId: string, report: UploadCounts, durationMs: number | null): void {
  const counts: [string, string][] = [
    ['Rows', formatInteger(report.rows)],
    ['Inserted', formatInteger(report.inserted)],
    ['Updated', formatInteger(report.updated)],
    ['Skipped', formatInteger(report.skipped)],
    ['Failed', formatInteger(report.failed)],
  ];
  if (durationMs !== null) counts.push(['Took', formatDuration(durationMs / 1000)]);
  $('report-counts').replaceChildren(
    ...counts.flatMap(([name, value]) => {
      const wrap = el('div');
      wrap.append(el('dt', name), el('dd', value));
      return [wrap];
    }),
  );
  const rows = report.errors.map((e) => {
    const tr = el('tr');
    tr.append(
      el('td', String(e.line), 'num'),
      el('td', e.column),
      el('td', e.value),
      el('td', e.code),
      el('td', e.message),
    );
    return tr;
  });
  $('errors-table')
    .querySelector('tbody')!
    .replaceChildren(...rows);
  $('errors-table').hidden = rows.length === 0;
  const link = $<HTMLAnchorElement>('rejected-link');
  link.href = `/api/v1/uploads/${encodeURIComponent(uploadId)}/errors`;
  link.hidden = report.failed === 0;
  $('upload-report').hidden = false;
}

$('upload-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const file = chosen;
  if (!file) {
    showMessage('Pick a CSV file (or drop one on the upload area) first.');
    return;
  }
  const value = (id: string) => $<HTMLInputElement>(id).value.trim() || undefined;
  const checked = (id: string) => $<HTMLInputElement>(id).checked;
  const async = checked('opt-async');
  const url = `/api/v1/data/upload${queryString({
    onConflict: value('opt-conflict'),
    atomic: checked('opt-atomic') || undefined,
    dryRun: checked('opt-dryrun') || undefined,
    symbol: value('opt-symbol'),
    dateFormat: value('opt-dateformat'),
  })}`;
  const submit = $<HTMLButtonElement>('upload-submit');
  submit.disabled = true;
  clearMessage();
  $('upload-report').hidden = true;
  setProgress('Sending', 0, `0 B of ${formatBytes(file.size)} sent`);
  (async () => {
    const { status, body } = await send(url, file, async);
    let report: UploadReport | UploadView;
    if (status === 202) report = await pollUpload(body as UploadAccepted);
    else if (status === 200) report = body as UploadReport;
    else {
      if (status === 503) availability.report(true, toProblem(status, body).detail);
      // 422 ROWS_REJECTED (atomic, or nothing written) still carries the report.
      const problem = toProblem(status, body);
      const b = body as Partial<UploadReport> & { uploadId?: string };
      if (status === 422 && Array.isArray(b.errors) && b.uploadId) {
        showReport(b.uploadId, b as UploadCounts, b.durationMs ?? null);
      }
      throw new ApiError(problem);
    }
    const counts = 'report' in report ? report.report : report;
    const duration = report.durationMs ?? null;
    showReport(report.uploadId, counts, duration);
    if (report.status !== 'completed') {
      const why = 'message' in report && report.message ? `: ${report.message}` : '';
      throw new Error(`The upload ended ${report.status}${why}.`);
    }
    setProgress('Done', 100, `${formatInteger(counts.rows)} rows read`);
    showMessage(
      `Upload finished: ${formatInteger(counts.inserted)} inserted, ${formatInteger(counts.updated)} updated, ${formatInteger(counts.failed)} rejected.`,
      'info',
    );
    await loadSymbols();
    if (!view.symbol && symbols[0]) selectSymbol(symbols[0].symbol);
    else if (view.symbol) refreshView();
  })()
    .catch((err: unknown) => {
      progressBox.hidden = true;
      fail(err);
    })
    .finally(() => (submit.disabled = false));
});

// ---- recent uploads (admin) ----------------------------------------------------------------

$('uploads-load').addEventListener('click', () => {
  getJson<{ data: UploadView[] }>('/api/v1/uploads?limit=20')
    .then((res) => {
      const rows = res.data.map((u) => {
        const tr = el('tr');
        tr.append(
          el('td', new Date(u.createdAt).toLocaleString()),
          el('td', u.fileName ?? '—'),
          el('td', u.status),
          el('td', formatInteger(u.report.rows), 'num'),
          el('td', formatInteger(u.report.failed), 'num'),
          el('td', u.client ?? '—'),
        );
        return tr;
      });
      $('uploads-table')
        .querySelector('tbody')!
        .replaceChildren(...rows);
      $('uploads-table').hidden = false;
      if (!rows.length) showMessage('No uploads recorded yet.', 'info');
    })
    .catch(fail);
});

// ---- start -----------------------------------------------------------------------------------

showKeyState();
void refreshReadiness();
setInterval(() => void refreshReadiness(), 15_000);
firstSymbols
  .then((list) => {
    showSymbols(list);
    if (symbols[0]) selectSymbol(symbols[0].symbol);
    else firstRenderDone();
  })
  .catch((err: unknown) => {
    fail(err);
    firstRenderDone();
  });
