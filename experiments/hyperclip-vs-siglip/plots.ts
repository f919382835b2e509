// The results report's figures: per configuration, accuracy bars over seeds
// and training-loss curves, rendered by the docs' one PNG renderer.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { renderPng } from '../../tools/render-png.js';
import { cellStats, seedValues } from './cells.js';
import { MODEL_KINDS, MODEL_LABEL, METRICS, type Configuration } from './plan.js';
import { metricValues, type RunState } from './runs.js';
import { hasTowerRuns, TOWER_METRICS, TOWER_ROWS } from './tower-size.js';

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

/** Experiment E: HyperCLIP − SigLIP per seed pair (dots) and its mean ± std, one column per tower with the metrics side by side. */
export function towerSizeSpec(runs: RunState[]): TopLevelSpec {
  const towers = TOWER_ROWS.map((row) => `${row.tower} (${row.configuration})`);
  const seeds = (configuration: string, key: string) => {
    const h = seedValues(runs, configuration, 'hyperclip', key), sig = seedValues(runs, configuration, 'siglip', key);
    return [...h].filter(([seed]) => sig.has(seed)).map(([seed, value]) => ({ seed, difference: 100 * (value - sig.get(seed)!) }));
  };
  const points = TOWER_ROWS.flatMap((row, i) => TOWER_METRICS.flatMap((m) =>
    seeds(row.configuration, m.key).map((p) => ({ tower: towers[i], metric: m.label, ...p }))));
  const means = TOWER_ROWS.flatMap((row, i) => TOWER_METRICS.map((m) => {
    const d = cellStats(runs, row.configuration, m.key).difference;
    const std = Number.isFinite(d.std) ? d.std : 0;
    return { tower: towers[i], metric: m.label, mean: 100 * d.mean, low: 100 * (d.mean - std), high: 100 * (d.mean + std), n: d.n };
  })).filter((m) => m.n > 0);
  const x = { field: 'tower', type: 'nominal' as const, title: 'locked ImageNet tower, smallest first (configuration)', sort: towers, scale: { domain: towers }, axis: { labelAngle: 0, labelLimit: 0, labelExpr: "split(datum.label, ', ')" } };
  const xOffset = { field: 'metric', type: 'nominal' as const };
  const color = { field: 'metric', type: 'nominal' as const, title: 'metric' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Experiment E: HyperCLIP − SigLIP by tower (dots: seed pairs; bars: mean ± std)', fontSize: 13 },
    width: 640, height: 300, background: 'white', config: baseConfig,
    layer: [
      { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: 'gray', strokeDash: [4, 4] }, encoding: { y: { field: 'zero', type: 'quantitative' } } },
      { data: { values: means }, mark: { type: 'tick', thickness: 3, size: 24 }, encoding: { x, xOffset, color, y: { field: 'mean', type: 'quantitative', title: 'HyperCLIP − SigLIP (points)' } } },
      { data: { values: means }, mark: 'rule', encoding: { x, xOffset, color, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
      { data: { values: points }, mark: { type: 'point', filled: true, size: 30 }, encoding: { x, xOffset, color, y: { field: 'difference', type: 'quantitative' } } },
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
  if (hasTowerRuns(runs)) {
    out.push(await writeOne(towerSizeSpec(runs), path.join(dir, 'tower-size.png'), 'Experiment E: HyperCLIP − SigLIP by tower', relativeTo));
  }
  return out;
}

async function writeOne(spec: TopLevelSpec, file: string, title: string, relativeTo: string): Promise<PlotFile> {
  writeFileSync(file, await renderPng(spec));
  return { title, file: path.relative(relativeTo, file).split(path.sep).join('/') };
}
