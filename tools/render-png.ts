// The generated docs' figures: Vega-Lite specs rendered headless to SVG by
// Vega (no browser, no native canvas), then to PNG by sharp.
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export async function renderPng(spec: TopLevelSpec, scale = 2): Promise<Buffer> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG(scale);
    return await sharp(Buffer.from(svg)).png().toBuffer();
  } finally {
    view.finalize();
  }
}
