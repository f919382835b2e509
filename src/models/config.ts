// Model configurations as data: typed interfaces, named presets, and one
// resolveConfig() that validates and fills defaults once. Training settings
// (learning rate, steps, data) belong to src/train, not here.

export interface MBConvStageSpec {
  /** Expansion ratio of the inverted bottleneck. */
  expand: number;
  kernel: number;
  /** Stride of the stage's first block. */
  stride: number;
  /** Output channels before the width multiplier. */
  channels: number;
  /** Blocks before the depth multiplier. */
  repeats: number;
}

export interface EfficientNetConfig {
  family: 'efficientnet';
  widthMultiplier: number;
  depthMultiplier: number;
  /** Stem channels before the width multiplier. */
  stemChannels: number;
  /** Channels of the final 1x1 conv (the feature size D), before the width multiplier. */
  headChannels: number;
  /** Squeeze-excitation width relative to the block's input channels. */
  seRatio: number;
  /** Stochastic depth rate of the last block (linearly increasing from 0). */
  dropPath: number;
  stages: MBConvStageSpec[];
}

export interface MobileNetV3Config {
  family: 'mobilenetv3';
  variant: 'small' | 'large';
  widthMultiplier: number;
  dropPath: number;
}

/** MobileNet v1 in the layout of the pretrained TensorFlow Lite files (src/models/image/mobilenet.ts). */
export interface MobileNetV1Config {
  family: 'mobilenetv1';
  widthMultiplier: number;
}

/** MobileNet v2 in the layout of the pretrained TensorFlow Lite files. */
export interface MobileNetV2Config {
  family: 'mobilenetv2';
  widthMultiplier: number;
}

export interface ResNetStageSpec {
  /** Output channels before the width multiplier. */
  channels: number;
  /** Basic blocks in the stage. */
  blocks: number;
  /** Stride of the stage's first block. */
  stride: number;
}

export interface ResNetConfig {
  family: 'resnet';
  widthMultiplier: number;
  /** Stem (one 3x3 conv) channels before the width multiplier. */
  stemChannels: number;
  stemStride: number;
  /** Channels of the final 1x1 conv (the feature size D), before the width multiplier. */
  headChannels: number;
  stages: ResNetStageSpec[];
}

/**
 * Explicit channel counts that replace the ones the width multiplier gives,
 * as channel pruning leaves them (src/compress). MBConv families only.
 */
export interface ChannelWidths {
  /** Expanded (inner) channels of every MBConv block in order; a block without an expansion conv keeps its input width. */
  expanded?: number[];
  /** Channels of the final 1x1 conv: the feature size. */
  head?: number;
}

export type ImageEncoderConfig = (EfficientNetConfig | MobileNetV3Config | ResNetConfig | MobileNetV1Config | MobileNetV2Config) & {
  /** Training and deployment resolution (square images). */
  imageSize: number;
  /** Run convolutions in channels-last memory format (faster on CPU with oneDNN). */
  channelsLast: boolean;
  /** Pruned channel counts; absent for a dense model. */
  channels?: ChannelWidths;
};

export interface TextEncoderConfig {
  vocabSize: number;
  contextLength: number;
  /** The id that ends every text; the encoder pools at its first occurrence. */
  endTokenId: number;
  width: number;
  layers: number;
  heads: number;
  mlpRatio: number;
}

export type NormLayerSelection = 'all' | { lastStages: number };

export interface HypernetConfig {
  width: number;
  layers: number;
  heads: number;
  mlpRatio: number;
  /** Which image-encoder norm layers get generated scale and bias. */
  normLayers: NormLayerSelection;
  /** 'text': the task's text embeddings; 'learned-tokens': the paper's text-independent control. */
  input: 'text' | 'learned-tokens';
  /** Number of learned tokens when input is 'learned-tokens'. */
  learnedTokens: number;
  /** Captions per pre-training task: the batch is split into groups of this size. */
  groupSize: number;
  /**
   * Multiplies the head's output. With Adam every head weight moves by about
   * lr per step whatever its gradient, so an unscaled head over a width-W
   * feature changes each generated scale by up to lr * W per step (0.1 at
   * lr 1e-3, W 128): the deltas outrun the encoder within a few steps and
   * training stalls. A small factor sets the deltas' own learning rate.
   */
  outputScale: number;
}

export interface LossConfig {
  kind: 'siglip' | 'clip';
  /** log of the initial temperature t (SigLIP: log 10; CLIP: log(1/0.07)). */
  logitScaleInit: number;
  /** Initial SigLIP bias (unused by the CLIP loss). */
  logitBiasInit: number;
  /** Which pairs the loss compares: the whole batch, or only pairs inside a task group. */
  span: 'batch' | 'group';
}

export interface ModelConfig {
  name: string;
  /** The shared image-text embedding size. */
  embedDim: number;
  image: ImageEncoderConfig;
  text: TextEncoderConfig;
  /** null: the SigLIP/CLIP baseline without a hypernetwork. */
  hypernet: HypernetConfig | null;
  loss: LossConfig;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** What resolveConfig accepts: a preset to start from (or the defaults) and any overrides. */
export type PartialModelConfig = Omit<DeepPartial<ModelConfig>, 'image' | 'hypernet'> & {
  preset?: string;
  image?: DeepPartial<Omit<EfficientNetConfig, 'family' | 'stages'> & Omit<MobileNetV3Config, 'family'> & Omit<ResNetConfig, 'family' | 'stages'>> & {
    family?: ImageFamily;
    stages?: MBConvStageSpec[] | ResNetStageSpec[];
    imageSize?: number;
    channelsLast?: boolean;
    channels?: ChannelWidths;
  };
  hypernet?: DeepPartial<HypernetConfig> | null;
};

export const IMAGE_FAMILIES = ['efficientnet', 'mobilenetv3', 'resnet', 'mobilenetv1', 'mobilenetv2'] as const;
export type ImageFamily = typeof IMAGE_FAMILIES[number];

/** EfficientNet-B0's stages (Tan & Le 2019, table 1); B1/B2 and tiny sizes scale these. */
export const EFFICIENTNET_B0_STAGES: MBConvStageSpec[] = [
  { expand: 1, kernel: 3, stride: 1, channels: 16, repeats: 1 },
  { expand: 6, kernel: 3, stride: 2, channels: 24, repeats: 2 },
  { expand: 6, kernel: 5, stride: 2, channels: 40, repeats: 2 },
  { expand: 6, kernel: 3, stride: 2, channels: 80, repeats: 3 },
  { expand: 6, kernel: 5, stride: 1, channels: 112, repeats: 3 },
  { expand: 6, kernel: 5, stride: 2, channels: 192, repeats: 4 },
  { expand: 6, kernel: 3, stride: 1, channels: 320, repeats: 1 },
];

const efficientnet = (width: number, depth: number, imageSize: number, extra: Partial<EfficientNetConfig> = {}): ImageEncoderConfig => ({
  family: 'efficientnet', widthMultiplier: width, depthMultiplier: depth, stemChannels: 32, headChannels: 1280,
  seRatio: 0.25, dropPath: 0, stages: EFFICIENTNET_B0_STAGES, imageSize, channelsLast: true, ...extra,
});

const mobilenetv3 = (variant: 'small' | 'large', width: number, imageSize: number): ImageEncoderConfig => ({
  family: 'mobilenetv3', variant, widthMultiplier: width, dropPath: 0, imageSize, channelsLast: true,
});

/**
 * The tiny CPU image encoder: B0's layout at width 0.5, depth 0.5, with
 * expansion 4 instead of 6 and a 384-channel head (768 x 0.5): 0.43M
 * parameters, 384 features; at 64 px its feature maps go 32 -> 2 pixels, as
 * B0's go 112 -> 7 at 224. Width 0.75 or depth 0.75 cost 20-25% throughput.
 */
const TINY_STAGES: MBConvStageSpec[] = EFFICIENTNET_B0_STAGES.map((s) => ({ ...s, expand: s.expand === 1 ? 1 : 4 }));
const TINY_IMAGE = efficientnet(0.5, 0.5, 64, { headChannels: 768, stages: TINY_STAGES });

/**
 * The tiny plain ResNet: a stride-2 stem, then one basic block per stage at
 * 32-64-128-256 channels (64 px: 32 -> 4 pixels) and a 384-channel head, as
 * the tiny EfficientNet's. 1.3M parameters; ReLU, no squeeze-excitation.
 */
const resnet = (imageSize: number, extra: Partial<ResNetConfig> = {}): ImageEncoderConfig => ({
  family: 'resnet', widthMultiplier: 1, stemChannels: 32, stemStride: 2, headChannels: 384,
  stages: [
    { channels: 32, blocks: 1, stride: 1 }, { channels: 64, blocks: 1, stride: 2 },
    { channels: 128, blocks: 1, stride: 2 }, { channels: 256, blocks: 1, stride: 2 },
  ],
  imageSize, channelsLast: true, ...extra,
});

const TEXT_DEFAULT: TextEncoderConfig = { vocabSize: 4096, contextLength: 32, endTokenId: 2, width: 128, layers: 3, heads: 4, mlpRatio: 4 };
const HYPERNET_DEFAULT: HypernetConfig = {
  width: 128, layers: 2, heads: 4, mlpRatio: 2, normLayers: 'all', input: 'text', learnedTokens: 8, groupSize: 16, outputScale: 0.01,
};
const SIGLIP_LOSS: LossConfig = { kind: 'siglip', logitScaleInit: Math.log(10), logitBiasInit: -10, span: 'batch' };

const tinyBase = { embedDim: 128, image: TINY_IMAGE, text: TEXT_DEFAULT, loss: SIGLIP_LOSS };
const b0Base = {
  embedDim: 512,
  image: efficientnet(1, 1, 224, { dropPath: 0.2 }),
  text: { vocabSize: 4096, contextLength: 32, endTokenId: 2, width: 512, layers: 6, heads: 8, mlpRatio: 4 },
  loss: SIGLIP_LOSS,
};

/**
 * Pretrained towers (src/models/image/mobilenet.ts, imported from the data
 * folder's TFLite files): a width-256 4-layer text encoder, embeddings of
 * 256, and a hypernetwork on the norms of the last two stages only (the
 * earlier ones stay frozen and shared, which is what lets training compute
 * them once per batch).
 */
const pretrainedTower = (family: 'mobilenetv1' | 'mobilenetv2', widthMultiplier: number, imageSize: number, hyper: boolean): Omit<ModelConfig, 'name'> => ({
  embedDim: 256,
  image: { family, widthMultiplier, imageSize, channelsLast: true },
  text: { ...TEXT_DEFAULT, width: 256, layers: 4 },
  hypernet: hyper ? { ...HYPERNET_DEFAULT, normLayers: { lastStages: 2 } } : null,
  loss: SIGLIP_LOSS,
});

const PRESETS: Record<string, { description: string; config: Omit<ModelConfig, 'name'> }> = {
  'tiny-hyperclip': {
    description: 'CPU size, 64 px: tiny EfficientNet, 3-layer width-128 text encoder, hypernetwork on all norm layers',
    config: { ...tinyBase, hypernet: HYPERNET_DEFAULT },
  },
  'tiny-siglip': {
    description: 'the SigLIP baseline of tiny-hyperclip: identical encoders, no hypernetwork',
    config: { ...tinyBase, hypernet: null },
  },
  'b0-hyperclip': {
    description: 'paper size, 224 px: EfficientNet-B0, 6-layer width-512 text encoder, hypernetwork (GPU)',
    config: { ...b0Base, hypernet: { ...HYPERNET_DEFAULT, width: 256, heads: 8, groupSize: 32 } },
  },
  'b0-siglip': {
    description: 'the SigLIP baseline of b0-hyperclip (GPU)',
    config: { ...b0Base, hypernet: null },
  },
  'mnv3-hyperclip': {
    description: 'MobileNetV3-Large width 0.5 at 64 px with the tiny text encoder and hypernetwork',
    config: { ...tinyBase, image: mobilenetv3('large', 0.5, 64), hypernet: HYPERNET_DEFAULT },
  },
  'tiny-resnet-hyperclip': {
    description: 'tiny-hyperclip with a plain 4-stage ResNet image encoder (dense 3x3 convolutions) instead of the tiny EfficientNet',
    config: { ...tinyBase, image: resnet(64), hypernet: HYPERNET_DEFAULT },
  },
  'tiny-resnet-siglip': {
    description: 'the SigLIP baseline of tiny-resnet-hyperclip',
    config: { ...tinyBase, image: resnet(64), hypernet: null },
  },
  'mnv2-hyperclip': {
    description: 'ImageNet-pretrained MobileNet v2 (width 1.0) at 160 px, hypernetwork on the norms of its last two stages',
    config: pretrainedTower('mobilenetv2', 1, 160, true),
  },
  'mnv2-siglip': {
    description: 'the SigLIP baseline of mnv2-hyperclip: the same pretrained MobileNet v2, no hypernetwork',
    config: pretrainedTower('mobilenetv2', 1, 160, false),
  },
  'mnv1-050-hyperclip': {
    description: 'ImageNet-pretrained MobileNet v1 (width 0.5) at 160 px, hypernetwork on the norms of its last two stages',
    config: pretrainedTower('mobilenetv1', 0.5, 160, true),
  },
  'mnv1-050-siglip': {
    description: 'the SigLIP baseline of mnv1-050-hyperclip',
    config: pretrainedTower('mobilenetv1', 0.5, 160, false),
  },
  'mnv1-025-hyperclip': {
    description: 'ImageNet-pretrained MobileNet v1 (width 0.25) at 128 px, hypernetwork on the norms of its last two stages',
    config: pretrainedTower('mobilenetv1', 0.25, 128, true),
  },
  'mnv1-025-siglip': {
    description: 'the SigLIP baseline of mnv1-025-hyperclip',
    config: pretrainedTower('mobilenetv1', 0.25, 128, false),
  },
  'test-tiny': {
    description: 'for unit tests: width-8 EfficientNet, 1-layer width-16 text encoder, 32 px',
    config: {
      embedDim: 16,
      image: efficientnet(0.25, 0.25, 32, { headChannels: 64, stemChannels: 16 }),
      text: { vocabSize: 64, contextLength: 8, endTokenId: 2, width: 16, layers: 1, heads: 2, mlpRatio: 2 },
      hypernet: { ...HYPERNET_DEFAULT, width: 16, layers: 1, heads: 2, groupSize: 4 },
      loss: SIGLIP_LOSS,
    },
  },
};

export interface PresetInfo {
  name: string;
  description: string;
}

export function listPresets(): PresetInfo[] {
  return Object.entries(PRESETS).map(([name, p]) => ({ name, description: p.description }));
}

const clone = <T>(v: T): T => structuredClone(v);

function presetConfig(name: string): ModelConfig {
  const preset = PRESETS[name];
  if (preset === undefined) {
    throw new Error(`unknown model preset "${name}": valid presets are ${Object.keys(PRESETS).join(', ')}`);
  }
  return { name, ...clone(preset.config) };
}

/** Defaults of an image family, used when an override switches family. */
function familyDefaults(family: string, imageSize: number): ImageEncoderConfig {
  if (family === 'efficientnet') return efficientnet(1, 1, imageSize);
  if (family === 'mobilenetv3') return mobilenetv3('large', 1, imageSize);
  if (family === 'resnet') return resnet(imageSize);
  if (family === 'mobilenetv1' || family === 'mobilenetv2') return { family, widthMultiplier: 1, imageSize, channelsLast: true };
  throw new Error(`unknown image.family "${family}": expected ${IMAGE_FAMILIES.join(', ')}`);
}

/**
 * A full, validated config from a preset name, or from overrides on a preset
 * (`{ preset: 'tiny-siglip', text: { layers: 2 } }`; without `preset` the
 * overrides apply to tiny-siglip's values, and `hypernet: {}` adds the default
 * hypernetwork).
 */
export function resolveConfig(nameOrPartial: string | PartialModelConfig): ModelConfig {
  if (typeof nameOrPartial === 'string') return validateConfig(presetConfig(nameOrPartial));
  if (nameOrPartial === null || typeof nameOrPartial !== 'object') {
    throw new Error('model config must be a preset name or an object of overrides');
  }
  const { preset, ...overrides } = nameOrPartial;
  const base = presetConfig(preset ?? 'tiny-siglip');
  const merged = mergeOverrides(base, overrides);
  if (preset === undefined && overrides.name === undefined) merged.name = 'custom';
  return validateConfig(merged);
}

function mergeOverrides(base: ModelConfig, o: Omit<PartialModelConfig, 'preset'>): ModelConfig {
  checkKeys('', o, ['name', 'embedDim', 'image', 'text', 'hypernet', 'loss']);
  let image = base.image;
  if (o.image?.family !== undefined && o.image.family !== base.image.family) {
    image = familyDefaults(o.image.family, o.image.imageSize ?? base.image.imageSize);
  }
  const hypernet = o.hypernet === null ? null
    : o.hypernet === undefined ? base.hypernet
      : mergeObject('hypernet', base.hypernet ?? HYPERNET_DEFAULT, o.hypernet);
  return {
    name: o.name ?? base.name,
    embedDim: o.embedDim ?? base.embedDim,
    image: o.image === undefined ? image : mergeObject('image', image, o.image, ['channels']),
    text: o.text === undefined ? base.text : mergeObject('text', base.text, o.text),
    hypernet,
    loss: o.loss === undefined ? base.loss : mergeObject('loss', base.loss, o.loss),
  };
}

function mergeObject<T extends object>(where: string, base: T, override: object, optionalKeys: string[] = []): T {
  if (override === null || typeof override !== 'object' || Array.isArray(override)) {
    throw new Error(`config field ${where} must be an object`);
  }
  checkKeys(`${where}.`, override, [...new Set([...Object.keys(base), ...optionalKeys])]);
  const out = { ...clone(base) } as Record<string, unknown>;
  for (const [k, v] of Object.entries(override)) if (v !== undefined) out[k] = clone(v);
  return out as T;
}

function checkKeys(prefix: string, value: object, allowed: string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new Error(`unknown config field ${prefix}${key}: expected one of ${allowed.join(', ')}`);
  }
}

// ---- validation: one readable message per problem ----

function positiveInt(where: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`expected a positive integer for ${where} but received ${JSON.stringify(v)}`);
}

function inRange(where: string, v: unknown, lo: number, hi: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new Error(`expected a number between ${lo} and ${hi} for ${where} but received ${JSON.stringify(v)}`);
  }
}

function oneOf(where: string, v: unknown, options: readonly string[]): void {
  if (typeof v !== 'string' || !options.includes(v)) throw new Error(`expected one of ${options.join(', ')} for ${where} but received ${JSON.stringify(v)}`);
}

export function validateConfig(c: ModelConfig): ModelConfig {
  if (typeof c.name !== 'string' || c.name === '') throw new Error('config name must be a non-empty string');
  positiveInt('embedDim', c.embedDim);
  validateImage(c.image);
  validateText(c.text);
  if (c.hypernet !== null) validateHypernet(c.hypernet);
  oneOf('loss.kind', c.loss.kind, ['siglip', 'clip']);
  oneOf('loss.span', c.loss.span, ['batch', 'group']);
  inRange('loss.logitScaleInit', c.loss.logitScaleInit, -10, 10);
  inRange('loss.logitBiasInit', c.loss.logitBiasInit, -100, 100);
  return c;
}

function validateImage(i: ImageEncoderConfig): void {
  positiveInt('image.imageSize', i.imageSize);
  if (i.imageSize < 16) throw new Error(`image.imageSize must be at least 16 pixels, got ${i.imageSize}`);
  if (typeof i.channelsLast !== 'boolean') throw new Error('image.channelsLast must be true or false');
  inRange('image.widthMultiplier', i.widthMultiplier, 0.05, 8);
  if (i.channels !== undefined) validateChannels(i);
  if (i.family === 'resnet') {
    validateResNet(i);
    return;
  }
  if (i.family === 'mobilenetv1' || i.family === 'mobilenetv2') {
    if (i.family === 'mobilenetv1' && i.channels !== undefined) throw new Error('image.channels (pruned widths) is not supported for mobilenetv1');
    return;
  }
  inRange('image.dropPath', i.dropPath, 0, 0.9);
  if (i.family === 'mobilenetv3') {
    oneOf('image.variant', i.variant, ['small', 'large']);
    return;
  }
  oneOf('image.family', i.family, IMAGE_FAMILIES);
  inRange('image.depthMultiplier', i.depthMultiplier, 0.05, 8);
  positiveInt('image.stemChannels', i.stemChannels);
  positiveInt('image.headChannels', i.headChannels);
  inRange('image.seRatio', i.seRatio, 0, 1);
  if (!Array.isArray(i.stages) || i.stages.length === 0) throw new Error('image.stages must be a non-empty list of stages');
  i.stages.forEach((s, k) => {
    for (const f of ['expand', 'channels', 'repeats'] as const) positiveInt(`image.stages[${k}].${f}`, s[f]);
    oneOf(`image.stages[${k}].kernel`, String(s.kernel), ['3', '5', '7']);
    oneOf(`image.stages[${k}].stride`, String(s.stride), ['1', '2']);
  });
}

function validateChannels(i: ImageEncoderConfig): void {
  const c = i.channels;
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new Error(`image.channels must be an object { expanded?, head? }, got ${JSON.stringify(c)}`);
  if (i.family === 'resnet') throw new Error('image.channels applies to the MBConv families (efficientnet, mobilenetv3, mobilenetv2), not resnet');
  checkKeys('image.channels.', c, ['expanded', 'head']);
  if (c.expanded !== undefined) {
    if (!Array.isArray(c.expanded) || c.expanded.length === 0) throw new Error('image.channels.expanded must be a non-empty list of channel counts, one per block');
    c.expanded.forEach((n, k) => positiveInt(`image.channels.expanded[${k}]`, n));
  }
  if (c.head !== undefined) positiveInt('image.channels.head', c.head);
}

function validateResNet(i: ResNetConfig): void {
  positiveInt('image.stemChannels', i.stemChannels);
  oneOf('image.stemStride', String(i.stemStride), ['1', '2']);
  positiveInt('image.headChannels', i.headChannels);
  if (!Array.isArray(i.stages) || i.stages.length === 0) throw new Error('image.stages must be a non-empty list of stages');
  i.stages.forEach((s, k) => {
    for (const f of ['channels', 'blocks'] as const) positiveInt(`image.stages[${k}].${f}`, s[f]);
    oneOf(`image.stages[${k}].stride`, String(s.stride), ['1', '2']);
  });
}

function validateText(t: TextEncoderConfig): void {
  for (const f of ['vocabSize', 'contextLength', 'width', 'layers', 'heads'] as const) positiveInt(`text.${f}`, t[f]);
  if (!Number.isInteger(t.endTokenId) || t.endTokenId < 0 || t.endTokenId >= t.vocabSize) {
    throw new Error(`expected text.endTokenId between 0 and ${t.vocabSize - 1} but received ${JSON.stringify(t.endTokenId)}`);
  }
  inRange('text.mlpRatio', t.mlpRatio, 0.25, 16);
  if (t.width % t.heads !== 0) throw new Error(`text.width ${t.width} must be divisible by text.heads ${t.heads}`);
}

function validateHypernet(h: HypernetConfig): void {
  for (const f of ['width', 'layers', 'heads', 'learnedTokens', 'groupSize'] as const) positiveInt(`hypernet.${f}`, h[f]);
  inRange('hypernet.mlpRatio', h.mlpRatio, 0.25, 16);
  inRange('hypernet.outputScale', h.outputScale, 1e-6, 1);
  if (h.width % h.heads !== 0) throw new Error(`hypernet.width ${h.width} must be divisible by hypernet.heads ${h.heads}`);
  oneOf('hypernet.input', h.input, ['text', 'learned-tokens']);
  if (h.normLayers !== 'all') {
    if (h.normLayers === null || typeof h.normLayers !== 'object') {
      throw new Error(`expected 'all' or { lastStages: k } for hypernet.normLayers but received ${JSON.stringify(h.normLayers)}`);
    }
    positiveInt('hypernet.normLayers.lastStages', h.normLayers.lastStages);
  }
}
