'use strict';

// Hand-written SVG chart of a bench run: one grouped-bar panel of throughput (GB/s) per
// thread count, with the copy-bandwidth line drawn across each case's group, and one panel of
// per-call latency (µs). No dependencies.

const COLORS = {
  normkit: '#1f77b4',
  'normkit+out': '#6baed6',
  unfused: '#17becf',
  'norm-only': '#9edae5',
  reference: '#ff7f0e',
  plain: '#2ca02c',
  onnxruntime: '#d62728',
  torch: '#9467bd',
};
const FALLBACK_COLORS = ['#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

const FONT = 'font-family="Helvetica, Arial, sans-serif"';

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v) {
  if (!Number.isFinite(v)) return '';
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  if (v >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

// A "nice" axis maximum and tick step for values up to `max`.
function niceAxis(max) {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  return { top: Math.ceil(max / step) * step, step };
}

// groups: [{ label: [line, ...], bars: [{ impl, value }], ref?: { value, label } }]
function panel({ x, y, width, height, title, unit, groups, impls, colorOf }) {
  const out = [];
  const left = 56;
  const plotW = width - left - 10;
  const top = 28;
  const plotH = height - top - 64;
  const px = x + left;
  const py = y + top;
  let max = 0;
  for (const g of groups) {
    for (const b of g.bars) max = Math.max(max, b.value || 0);
    if (g.ref) max = Math.max(max, g.ref.value || 0);
  }
  const { top: axisTop, step } = niceAxis(max * 1.12);
  const yOf = (v) => py + plotH - (v / axisTop) * plotH;

  out.push(`<text x="${x + 4}" y="${y + 18}" font-size="15" font-weight="bold" ${FONT}>${esc(title)}</text>`);
  // Grid and y ticks.
  for (let v = 0; v <= axisTop + step / 2; v += step) {
    const gy = yOf(v).toFixed(1);
    out.push(`<line x1="${px}" y1="${gy}" x2="${px + plotW}" y2="${gy}" stroke="#ddd" stroke-width="1"/>`);
    out.push(
      `<text x="${px - 6}" y="${Number(gy) + 4}" font-size="11" text-anchor="end" ${FONT}>${esc(fmt(v))}</text>`,
    );
  }
  out.push(
    `<text transform="translate(${x + 14},${py + plotH / 2}) rotate(-90)" font-size="12" text-anchor="middle" ${FONT}>${esc(unit)}</text>`,
  );
  out.push(`<line x1="${px}" y1="${py}" x2="${px}" y2="${py + plotH}" stroke="#333"/>`);
  out.push(`<line x1="${px}" y1="${py + plotH}" x2="${px + plotW}" y2="${py + plotH}" stroke="#333"/>`);

  const groupW = plotW / Math.max(1, groups.length);
  const slots = Math.max(1, impls.length);
  const barW = Math.max(4, Math.min(22, (groupW - 16) / slots));
  groups.forEach((g, gi) => {
    const gx = px + gi * groupW;
    const present = impls.filter((impl) => g.bars.some((b) => b.impl === impl));
    const startX = gx + (groupW - present.length * barW) / 2;
    present.forEach((impl, bi) => {
      const bar = g.bars.find((b) => b.impl === impl);
      const bx = startX + bi * barW;
      const v = bar.value || 0;
      const by = yOf(v);
      out.push(
        `<rect x="${bx.toFixed(1)}" y="${by.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(py + plotH - by).toFixed(1)}" fill="${colorOf(impl)}"><title>${esc(`${g.label.join(' ')} ${impl}: ${fmt(v)} ${unit}`)}</title></rect>`,
      );
      const lx = bx + (barW - 2) / 2 + 3.5;
      out.push(
        `<text transform="translate(${lx.toFixed(1)},${(by - 3).toFixed(1)}) rotate(-90)" font-size="10" ${FONT}>${esc(fmt(v))}</text>`,
      );
    });
    if (g.ref && g.ref.value > 0) {
      const ry = yOf(g.ref.value).toFixed(1);
      const x1 = gx + 4;
      const x2 = gx + groupW - 4;
      out.push(
        `<line x1="${x1.toFixed(1)}" y1="${ry}" x2="${x2.toFixed(1)}" y2="${ry}" stroke="#000" stroke-width="2" stroke-dasharray="6 3"/>`,
      );
    }
    const lines = g.ref && g.ref.value > 0 ? [...g.label, g.ref.label] : g.label;
    lines.forEach((line, li) => {
      out.push(
        `<text x="${(gx + groupW / 2).toFixed(1)}" y="${py + plotH + 15 + li * 13}" font-size="11" text-anchor="middle"${li >= g.label.length ? ' font-style="italic" fill="#333"' : ''} ${FONT}>${esc(line)}</text>`,
      );
    });
  });
  return out.join('\n');
}

function legend(x, y, impls, colorOf, extra) {
  const out = [];
  let cx = x;
  for (const impl of impls) {
    out.push(`<rect x="${cx}" y="${y - 10}" width="12" height="12" fill="${colorOf(impl)}"/>`);
    out.push(`<text x="${cx + 16}" y="${y}" font-size="12" ${FONT}>${esc(impl)}</text>`);
    cx += 24 + impl.length * 7;
  }
  if (extra) {
    out.push(
      `<line x1="${cx}" y1="${y - 4}" x2="${cx + 24}" y2="${y - 4}" stroke="#000" stroke-width="2" stroke-dasharray="6 3"/>`,
    );
    out.push(`<text x="${cx + 30}" y="${y}" font-size="12" ${FONT}>${esc(extra)}</text>`);
  }
  return out.join('\n');
}

// report: the JSON object run.js writes (machine, threads, cases, results).
function renderSvg(report) {
  const { cases, results, threads, machine } = report;
  const implOrder = ['normkit', 'normkit+out', 'unfused', 'norm-only', 'reference', 'plain', 'onnxruntime', 'torch'];
  const implsSeen = [...new Set(results.filter((r) => r.impl !== 'copy').map((r) => r.impl))];
  const impls = [
    ...implOrder.filter((i) => implsSeen.includes(i)),
    ...implsSeen.filter((i) => !implOrder.includes(i)),
  ];
  const colorOf = (impl) => COLORS[impl] || FALLBACK_COLORS[impls.indexOf(impl) % FALLBACK_COLORS.length];
  const find = (caseId, impl, t) =>
    results.find((r) => r.case === caseId && r.impl === impl && r.threads === t);

  const throughputCases = cases.filter((c) => c.kind === 'throughput');
  const latencyCases = cases.filter((c) => c.kind === 'latency');
  const width = Math.max(900, 90 + throughputCases.length * Math.max(70, impls.length * 16 + 24));
  const panelH = 380;
  const parts = [];
  let y = 10;
  parts.push(
    `<text x="10" y="${y + 18}" font-size="18" font-weight="bold" ${FONT}>${esc(`normkit bench: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, simd ${machine.simdPath}, threads ${(machine.multithreaded ?? machine.openmp) ? 'on' : 'off'}`)}</text>`,
  );
  parts.push(
    `<text x="10" y="${y + 36}" font-size="12" fill="#444" ${FONT}>${esc(`${report.date}${report.quick ? ' (quick run)' : ''}  ·  median of repeated calls  ·  GB/s = (input + output bytes) / median time`)}</text>`,
  );
  parts.push(
    `<text x="10" y="${y + 51}" font-size="12" fill="#444" ${FONT}>${esc('dashed line: copy baseline y = a·x + b (native) on the same bytes and threads')}</text>`,
  );
  const busy = results.filter((r) => r.otherLoad >= 0.05).length;
  if (busy) {
    parts.push(
      `<text x="700" y="${y + 51}" font-size="12" fill="#b00" ${FONT}>${esc(`${busy} of ${results.length} rows ran while other processes used the CPU: figures unreliable`)}</text>`,
    );
  }
  y += 62;
  parts.push(legend(10, y + 12, impls, colorOf, 'copy baseline'));
  y += 24;

  const caseLabel = (c) => {
    const shape = `[${c.shape.join(',')}]`;
    return [c.short, shape];
  };

  if (throughputCases.length) {
    for (const t of threads) {
      const groups = throughputCases
        .map((c) => {
          const bars = impls
            .map((impl) => ({ impl, r: find(c.id, impl, t) }))
            .filter((b) => b.r && Number.isFinite(b.r.gbps))
            .map((b) => ({ impl: b.impl, value: b.r.gbps }));
          const copy = find(c.id, 'copy', t);
          const ref =
            copy && Number.isFinite(copy.gbps)
              ? { value: copy.gbps, label: `copy ${fmt(copy.gbps)} GB/s` }
              : null;
          return { label: caseLabel(c), bars, ref };
        })
        .filter((g) => g.bars.length || g.ref);
      if (!groups.length) continue;
      parts.push(
        panel({
          x: 0,
          y,
          width,
          height: panelH,
          title: `Throughput, ${t} thread${t > 1 ? 's' : ''} (GB/s, higher is better)`,
          unit: 'GB/s',
          groups,
          impls,
          colorOf,
        }),
      );
      y += panelH + 8;
    }
  }

  if (latencyCases.length) {
    const groups = [];
    for (const c of latencyCases) {
      for (const t of threads) {
        const bars = impls
          .map((impl) => ({ impl, r: find(c.id, impl, t) }))
          .filter((b) => b.r && Number.isFinite(b.r.median))
          .map((b) => ({ impl: b.impl, value: b.r.median * 1e6 }));
        const copy = find(c.id, 'copy', t);
        const ref = copy ? { value: copy.median * 1e6, label: `copy ${fmt(copy.median * 1e6)} µs` } : null;
        if (bars.length || ref)
          groups.push({ label: [c.short, `[${c.shape.join(',')}]`, `${t} thr`], bars, ref });
      }
    }
    if (groups.length) {
      const latW = Math.min(width, Math.max(600, 90 + groups.length * Math.max(90, impls.length * 18 + 30)));
      parts.push(
        panel({
          x: 0,
          y,
          width: latW,
          height: panelH,
          title: 'Per-call latency from JS, validation included (µs per call, lower is better)',
          unit: 'µs / call',
          groups,
          impls,
          colorOf,
        }),
      );
      y += panelH + 20;
    }
  }

  const height = Math.ceil(y + 10);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(width)}" height="${height}" viewBox="0 0 ${Math.ceil(width)} ${height}">`,
    `<rect x="0" y="0" width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    `</svg>`,
    '',
  ].join('\n');
}

module.exports = { renderSvg };
