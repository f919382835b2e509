// The results report's figures: per configuration, accuracy bars over seeds
// and training-loss curves, rendered by the docs' one PNG renderer.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { renderPng } from '../../tools/render-png.js';
import { cellStats } from './cells.js';
import { MODEL_KINDS, MODEL_LABEL, METRICS, type Configuration } from './plan.js';
import { metricValues, type RunState } from './runs.js';

const FONT = 'DejaVu Sans';
const COLORS = { domain: [MODEL_LABEL.hyperclip, MODEL_LABEL.siglip], range: ['#d62728', '#1f77b4'] };

const baseConfig = { font: FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 12 } };

export function lossCurveSpec(runs: RunState[], c: Configuration): TopLevelSpec {
  const values = runs.filter((r) => r.configuration === c.id).flatMap((r) =>
    r.curve.map((p) => ({ model: MODEL_LABEL[r.model], seed: `seed ${r.seed}`, step: p.step, loss: p.loss })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: `Training loss, configuration ${c.id}: ${c.title}`, fontSize: 13 },
    width: 560, height: 300, background: 'white', config: baseConfig,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5, opacity: 0.85 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'loss', type: 'quantitative', title: 'sigmoid loss (mean over 10 steps)', scale: { zero: false } },
      color: { field: 'model', type: 'nominal', title: 'model', scale: COLORS },
      strokeDash: { field: 'seed', type: 'nominal', title: 'seed' },
    },
  };
}

export function accuracyBarSpec(runs: RunState[], c: Configuration): TopLevelSpec {
  const headline = METRICS.filter((m) => m.headline);
  // '|' breaks an axis label into lines (labelExpr below), so long names are not cut.
  const label = (key: string): string => {
    const m = headline.find((x) => x.key === key)!;
    const name = m.label.replace('Flickr8k ', 'Flickr8k|');
    return c.seenInTraining.includes(m.dataset) ? `${name}|(NOT zero-shot)` : name;
  };
  const bars = headline.flatMap((m) => MODEL_KINDS.map((k) => {
    const s = cellStats(runs, c.id, m.key).byModel[k];
    const std = Number.isFinite(s.std) ? s.std : 0;
    return { metric: label(m.key), model: MODEL_LABEL[k], mean: 100 * s.mean, low: 100 * (s.mean - std), high: 100 * (s.mean + std), n: s.n };
  })).filter((b) => b.n > 0);
  const points = runs.filter((r) => r.configuration === c.id && r.eval).flatMap((r) =>
    headline.map((m) => ({ metric: label(m.key), model: MODEL_LABEL[r.model], value: 100 * metricValues(r.eval!)[m.key]! })));
  const x = { field: 'metric', type: 'nominal' as const, title: null, sort: headline.map((m) => label(m.key)), axis: { labelAngle: 0, labelLimit: 0, labelExpr: "split(datum.label, '|')" } };
  const xOffset = { field: 'model', type: 'nominal' as const, scale: { domain: COLORS.domain } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: `Configuration ${c.id}: mean ± std over seeds (dots: single seeds)`, fontSize: 13 },
    width: 640, height: 300, background: 'white', config: baseConfig,
    layer: [
      { data: { values: bars }, mark: 'bar', encoding: { x, xOffset, y: { field: 'mean', type: 'quantitative', title: 'percent' }, color: { field: 'model', type: 'nominal', scale: COLORS } } },
      { data: { values: bars }, mark: { type: 'rule', color: 'black' }, encoding: { x, xOffset, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
      { data: { values: points }, mark: { type: 'point', filled: true, color: 'black', size: 18 }, encoding: { x, xOffset, y: { field: 'value', type: 'quantitative' } } },
    ],
  };
}

export interface PlotFile { title: string; file: string }

/** Writes the PNGs into dir; returns them with paths relative to relativeTo (the report's folder). */
export async function writePlots(runs: RunState[], configurations: Configuration[], dir: string, relativeTo: string): Promise<PlotFile[]> {
  mkdirSync(dir, { recursive: true });
  const out: PlotFile[] = [];
  for (const c of configurations) {
    const mine = runs.filter((r) => r.configuration === c.id);
    if (mine.some((r) => r.eval)) out.push(await writeOne(accuracyBarSpec(runs, c), path.join(dir, `accuracy-${c.id}.png`), `Accuracy and recall, configuration ${c.id}`, relativeTo));
    if (mine.some((r) => r.curve.length > 0)) out.push(await writeOne(lossCurveSpec(runs, c), path.join(dir, `loss-${c.id}.png`), `Training loss, configuration ${c.id}`, relativeTo));
  }
  return out;
}

async function writeOne(spec: TopLevelSpec, file: string, title: string, relativeTo: string): Promise<PlotFile> {
  writeFileSync(file, await renderPng(spec));
  return { title, file: path.relative(relativeTo, file).split(path.sep).join('/') };
}
