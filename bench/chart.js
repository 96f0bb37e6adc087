'use strict';

// The chart of a bench run, drawn with Vega-Lite (compiled to Vega and rendered to SVG in Node
// by `view.toSVG()`: no browser, no native canvas). One panel per thread count: a row per case,
// and in it a mark per implementation at its median time per call on a log axis, with a line
// from the first to the third quartile of its samples; the memory limit (the streaming-store
// copy of the same bytes) is drawn as a tick in each throughput row. Case names sit on the axis
// to the left of the plot and the legend above it, so no line crosses a label.

const IMPLS = [
  ['normkit', '#1f77b4'],
  ['plain', '#2ca02c'],
  ['onnxruntime', '#d62728'],
  ['torch', '#9467bd'],
  ['onednn', '#ff7f0e'],
];
const LIMIT = 'memory limit (streaming copy)';
const LABEL = { normkit: 'normkit', plain: 'plain JS', onnxruntime: 'onnxruntime-node' };
LABEL.torch = 'PyTorch';
LABEL.onednn = 'oneDNN';

function chartData(report) {
  const order = report.cases.map((c) => c.name);
  const values = [];
  for (const r of report.results) {
    const c = report.cases.find((x) => x.id === r.case);
    const impl = r.impl === 'limit' ? LIMIT : LABEL[r.impl];
    if (!c || !impl || !Number.isFinite(r.median)) continue;
    // A copy of one row of 768 values says nothing about memory: no limit on the latency cases.
    if (r.impl === 'limit' && c.kind === 'latency') continue;
    const q1 = Number.isFinite(r.q1) ? r.q1 : r.median;
    const q3 = Number.isFinite(r.q3) ? r.q3 : r.median;
    values.push({
      case: c.name,
      impl,
      threads: `${r.threads} thread${r.threads > 1 ? 's' : ''}`,
      ms: r.median * 1e3,
      q1: q1 * 1e3,
      q3: q3 * 1e3,
    });
  }
  return { values, order };
}

function chartSpec(report) {
  const { values, order } = chartData(report);
  const impls = new Set(values.map((v) => v.impl)).size;
  // Grid lines and labels at the powers of ten only (a log axis's default grid is dense).
  const lows = values.map((v) => Math.log10(Math.min(v.ms, v.q1)));
  const highs = values.map((v) => Math.log10(Math.max(v.ms, v.q3)));
  const decades = [];
  for (let e = Math.floor(Math.min(...lows, 0)); e <= Math.ceil(Math.max(...highs, 0)); e++) {
    decades.push(10 ** e);
  }
  const names = [...IMPLS.map(([impl]) => LABEL[impl]), LIMIT];
  const colors = [...IMPLS.map(([, color]) => color), '#333333'];
  const x = {
    field: 'ms',
    type: 'quantitative',
    scale: { type: 'log', domain: [decades[0], decades[decades.length - 1]] },
    axis: {
      title: 'time per call, ms (log scale; lines: quartiles of the samples)',
      values: decades,
      format: '~g',
      grid: true,
    },
  };
  const y = {
    field: 'case',
    type: 'nominal',
    sort: order,
    scale: { paddingInner: 0.25 },
    axis: { title: null, labelLimit: 260, grid: false },
  };
  const color = {
    field: 'impl',
    type: 'nominal',
    scale: { domain: names, range: colors },
    legend: { title: null, orient: 'top', direction: 'horizontal', columns: 3, labelLimit: 320 },
  };
  const tier = report.tier ? `, tier ${report.tier}` : '';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `normkit bench: time per call against its peers${tier}`,
      subtitle: `${report.machine.cpu}, ${report.date.slice(0, 10)}; lower is faster`,
      anchor: 'start',
    },
    data: { values },
    facet: { column: { field: 'threads', type: 'ordinal', title: null } },
    spec: {
      width: 360,
      // A fixed height (the yOffset bands divide each case's row among the implementations).
      height: order.length * (6 * impls + 10),
      // The limit's tick first, so the implementations' marks are drawn over it.
      layer: [
        {
          transform: [{ filter: `datum.impl === '${LIMIT}'` }],
          mark: { type: 'tick', thickness: 2, opacity: 0.7 },
          encoding: { x, y, color },
        },
        {
          transform: [{ filter: `datum.impl !== '${LIMIT}'` }],
          mark: { type: 'rule', strokeWidth: 1.5 },
          encoding: {
            x: { ...x, field: 'q1' },
            x2: { field: 'q3' },
            y,
            yOffset: { field: 'impl', sort: names },
            color,
          },
        },
        {
          transform: [{ filter: `datum.impl !== '${LIMIT}'` }],
          mark: { type: 'point', filled: true, size: 30 },
          encoding: {
            x,
            y,
            yOffset: { field: 'impl', sort: names },
            color,
            tooltip: [{ field: 'impl' }, { field: 'ms', format: '.4g' }],
          },
        },
      ],
    },
    resolve: { scale: { x: 'shared' } },
    config: { font: 'Helvetica, Arial, sans-serif', view: { stroke: '#ccc' } },
  };
}

// The SVG text of the chart; throws when vega or vega-lite cannot be loaded.
async function renderChart(report) {
  // Both are ES modules; import() resolves them from bench/node_modules.
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const spec = vl.compile(chartSpec(report)).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

module.exports = { renderChart, chartSpec };
