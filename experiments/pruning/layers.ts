// A check of the criterion itself, layer by layer: with the dense model's
// calibration inputs X of each Linear layer and 1x1 convolution, the output
// error ||X (W - W_pruned)^T||^2 of the Wanda mask against the magnitude
// mask at 50%. Wanda approximates the best per-row choice for this error
// (it is exact when input features are uncorrelated), so it should be the
// lower one in most layers; the end metrics then show whether that
// carries through a whole network without retraining.
import type { Bundle } from '../../src/bundle/bundle.js';
import { parseSparsity } from '../../src/compress/mask.js';
import { calibrationBatches, partLayers, type CalibrationData } from '../../src/compress/prune-bundle.js';
import { layerMask } from '../../src/compress/prune-layer.js';
import { linearInputSquares } from '../../src/compress/wanda-norms.js';
import { F, Linear, keep, noGrad, tensor, tidy, type Tensor } from '../../src/engine/index.js';
import type { LayerErrorRow } from './records.js';

export function layerErrors(bundle: Bundle, calibration: CalibrationData): LayerErrorRow[] {
  const model = bundle.model;
  const layers = partLayers(model, model.hypernet === null ? ['text', 'image'] : ['text', 'image', 'hypernet'])
    .filter((l) => l.layer instanceof Linear || l.layer.kernel === 1);
  const inputs = new Map<string, Tensor[]>();
  const removers = layers.map((l) => l.layer.registerForwardHook((_m, args) => {
    const x = args[0] as Tensor;
    const cols = l.layer.weight.numel / l.layer.weight.size(0);
    const rows = noGrad(() => (x.ndim === 4 ? x.permute([0, 2, 3, 1]).reshape([-1, cols]) : x.reshape([-1, cols]))); // [M, in]
    inputs.set(l.name, [...(inputs.get(l.name) ?? []), keep(rows.contiguous())]);
  }));
  const { batches, dispose } = calibrationBatches(model, bundle, calibration);
  try {
    noGrad(() => { for (const run of batches) tidy(() => { run(); }); });
  } finally {
    removers.forEach((remove) => remove());
    dispose();
  }
  const sparsity = parseSparsity('0.5');
  const rows: LayerErrorRow[] = [];
  for (const l of layers) {
    const parts = inputs.get(l.name);
    if (parts === undefined) continue;
    const weight = l.layer.weight;
    const out = weight.size(0), cols = weight.numel / out;
    const data = weight.data() as Float32Array;
    const error = (method: 'wanda' | 'magnitude', x: Tensor): number => {
      const mask = layerMask(method, sparsity, { data, rows: out, cols, spatial: 1, groups: 1 }, linearInputSquares(x));
      if (typeof mask === 'string') return NaN;
      return noGrad(() => tidy(() => {
        const w = tensor(data, [out, cols]);
        const removed = w.sub(w.mul(tensor(Float32Array.from(mask), [out, cols]))); // [out, in]
        return x.matmul(removed.transpose(0, 1)).square().sum().item();
      }));
    };
    const x = noGrad(() => F.cat(parts, 0));
    rows.push({ name: l.name, wanda: error('wanda', x), magnitude: error('magnitude', x) });
    x.dispose();
    for (const p of parts) p.dispose();
  }
  return rows;
}
