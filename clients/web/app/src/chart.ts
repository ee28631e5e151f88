// A bar chart per KPI (the last 12 months), drawn as SVG: no chart library for 12 bars.
// The current month's bar is highlighted; an optional plan line shows the target.
import { svg } from './dom.js';
import { monthShort } from './format.js';

export interface Bar {
  month: string; // YYYY-MM-01
  value: number;
  plan?: number;
}

const width = 240;
const height = 72;
const labelHeight = 14;

export function barChart(title: string, bars: readonly Bar[], current: string): SVGElement {
  const max = Math.max(1, ...bars.map((b) => Math.max(b.value, b.plan ?? 0)));
  const n = Math.max(bars.length, 1);
  const slot = width / n;
  const bw = Math.max(2, slot * 0.64);
  const area = height - labelHeight;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': title });
  root.appendChild(svg('title', {}, title));
  bars.forEach((b, i) => {
    const x = i * slot + (slot - bw) / 2;
    const bh = Math.max(1, (b.value / max) * (area - 4));
    root.appendChild(
      svg('rect', { x: x.toFixed(1), y: (area - bh).toFixed(1), width: bw.toFixed(1), height: bh.toFixed(1), rx: 2, class: b.month === current ? 'bar bar-now' : 'bar' }),
    );
    if (b.plan !== undefined && b.plan > 0) {
      const y = area - (b.plan / max) * (area - 4);
      root.appendChild(svg('line', { x1: (x - 1).toFixed(1), x2: (x + bw + 1).toFixed(1), y1: y.toFixed(1), y2: y.toFixed(1), class: 'plan' }));
    }
    if (n <= 12 && (i % 3 === 2 || b.month === current)) {
      root.appendChild(svg('text', { x: (x + bw / 2).toFixed(1), y: height - 2, 'text-anchor': 'middle', class: 'chart-label' }, monthShort(b.month)));
    }
  });
  return root;
}

// A horizontal progress bar with the month's pace as a marker.
export function progress(ratio: number, pace: number, label: string): HTMLElement {
  const el = document.createElement('div');
  el.className = 'progress';
  el.setAttribute('role', 'progressbar');
  el.setAttribute('aria-label', label);
  el.setAttribute('aria-valuemin', '0');
  el.setAttribute('aria-valuemax', '100');
  el.setAttribute('aria-valuenow', String(Math.round(Math.min(1, ratio) * 100)));
  const fill = document.createElement('div');
  fill.className = ratio + 1e-9 >= pace * 0.8 ? 'progress-fill' : 'progress-fill behind';
  fill.style.width = `${Math.min(100, ratio * 100).toFixed(1)}%`;
  const mark = document.createElement('div');
  mark.className = 'progress-pace';
  mark.style.left = `${Math.min(100, pace * 100).toFixed(1)}%`;
  mark.title = 'where the month\u2019s pace puts the plan today';
  el.append(fill, mark);
  return el;
}
