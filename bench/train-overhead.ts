// Where HyperCLIP's training step spends more than SigLIP's: CPU time (not
// wall time: it moves less with other processes' load) of forward + backward
// on one thread, random 64-px images and captions of the tiny presets,
// every variant once per round, medians over rounds:
//   siglip                 tiny-siglip's training loss
//   hyperclip              tiny-hyperclip's training loss
//   hyperclip, mul+add     the same with the per-sample norm affine as a separate mul and add (before addcmul)
//   image, base norms      tiny-hyperclip's image encoder with its own norm parameters
//   image, generated norms the image encoder with per-sample generated norms (gradient into them)
//   text + hypernetwork    text encoder and hypernetwork, their gradient
//   npm run bench:train-overhead -- --rounds 15
import { Command } from 'commander';
import { isEntryPoint, QUICK } from './lib/cli.js';
import { BatchNorm2d, F, keep, manualSeed, noGrad, randint, randn, setNumThreads, tidy, type Tensor } from '../src/engine/index.js';
import { HyperClip, resolveConfig } from '../src/models/index.js';

/** The per-sample affine as it was before addcmul: normalise, then mul, then add. */
function mulAddForward(this: BatchNorm2d, x: Tensor, scale: Tensor = this.weight, shift: Tensor = this.bias): Tensor {
  const options = { training: this.training, momentum: this.momentum, eps: this.eps };
  if (scale.ndim === 1 && shift.ndim === 1) return F.batchNorm(x, this.runningMean, this.runningVar, scale, shift, options);
  const normalized = F.batchNorm(x, this.runningMean, this.runningVar, null, null, options);
  return normalized.mul(scale.reshape([scale.size(0), this.channels, 1, 1])).add(shift.reshape([shift.size(0), this.channels, 1, 1]));
}

function cpuMs(fn: () => void): number {
  const before = process.cpuUsage();
  tidy(fn);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

export const cli = (): Command => new Command('bench:train-overhead')
  .option('--quick', QUICK)
  .option('--rounds <n>', 'rounds (default 15, quick 3)')
  .option('--batch-size <n>', 'batch', '128');

function main(): void {
  const opts = cli().parse().opts<{ quick?: boolean; rounds?: string; batchSize: string }>();
  const rounds = Number(opts.rounds ?? (opts.quick ? 3 : 15)), batch = Number(opts.batchSize);
  setNumThreads(1);
  manualSeed(0);
  const hyper = new HyperClip(resolveConfig('tiny-hyperclip')).train();
  const siglip = new HyperClip(resolveConfig('tiny-siglip')).train();
  const images = keep(randn([batch, 3, 64, 64]));
  const ids = keep(randint(3, hyper.config.text.vocabSize, [batch, hyper.config.text.contextLength]));
  const groupSize = hyper.config.hypernet!.groupSize;
  const textSets = (): Tensor => F.normalize(hyper.encodeText(ids), -1).reshape([batch / groupSize, groupSize, hyper.config.embedDim]);
  const addcmulForward = BatchNorm2d.prototype.forward;
  const variants: Record<string, () => void> = {
    'siglip': () => siglip.trainingLoss(images, ids).backward(),
    'hyperclip': () => hyper.trainingLoss(images, ids).backward(),
    'hyperclip, mul+add': () => {
      BatchNorm2d.prototype.forward = mulAddForward;
      try { hyper.trainingLoss(images, ids).backward(); } finally { BatchNorm2d.prototype.forward = addcmulForward; }
    },
    'image, base norms': () => hyper.encodeImage(images).sum().backward(),
    'image, generated norms': () => {
      const params = hyper.generateNormParams(noGrad(textSets));
      hyper.encodeImage(images, params).sum().backward();
    },
    'text + hypernetwork': () => {
      let total = hyper.logitBias.mul(0);
      for (const { scale, shift } of hyper.generateNormParams(textSets()).values()) total = total.add(scale.sum()).add(shift.sum());
      total.backward();
    },
  };
  const times = new Map(Object.keys(variants).map((k) => [k, [] as number[]]));
  for (const fn of Object.values(variants)) cpuMs(fn); // warm-up
  for (let r = 0; r < rounds; r++) {
    const names = Object.keys(variants);
    for (const name of r % 2 === 0 ? names : names.reverse()) times.get(name)!.push(cpuMs(variants[name]!));
  }
  const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
  const m = new Map([...times].map(([k, v]) => [k, median(v)]));
  for (const [name, ms] of m) console.log(`${name.padEnd(24)} ${ms.toFixed(1)} CPU ms`);
  console.log(`batch ${batch}, 64 px, 1 thread, ${rounds} rounds (CPU time of forward + backward, medians)`);
  console.log(`step_cpu_ratio_siglip_to_hyperclip=${(m.get('siglip')! / m.get('hyperclip')!).toFixed(3)}`);
  console.log(`step_cpu_ratio_siglip_to_hyperclip_mul_add=${(m.get('siglip')! / m.get('hyperclip, mul+add')!).toFixed(3)}`);
}

if (isEntryPoint(import.meta.url)) main();
