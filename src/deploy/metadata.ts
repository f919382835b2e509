// What a classifier ONNX file says about itself, as metadata_props strings:
// its class names, the input it expects and where it came from. Written at
// export, read by the runtime (Node or browser).

export type ClassifierOutput = 'softmax' | 'sigmoid' | 'logits';

export interface ClassifierMetadata {
  classNames: string[];
  /** [height, width] of the RGB input. */
  inputSize: [number, number];
  /** Per-channel RGB mean and std applied to pixels in [0, 1]. */
  mean: [number, number, number];
  std: [number, number, number];
  /** What the output holds: probabilities (softmax or sigmoid) or raw logits. */
  output: ClassifierOutput;
  sourceModel?: string;
  modelCard?: string;
}

const KEYS = {
  kind: 'hyperclip.kind', classes: 'hyperclip.classes', inputSize: 'hyperclip.input_size', mean: 'hyperclip.mean',
  std: 'hyperclip.std', output: 'hyperclip.output', sourceModel: 'hyperclip.source_model', modelCard: 'hyperclip.model_card',
} as const;

/** The metadata_props entries of a classifier. */
export function classifierMetadataProps(m: ClassifierMetadata): Record<string, string> {
  checkMetadata(m);
  const props: Record<string, string> = {
    [KEYS.kind]: 'classifier',
    [KEYS.classes]: JSON.stringify(m.classNames),
    [KEYS.inputSize]: JSON.stringify(m.inputSize),
    [KEYS.mean]: JSON.stringify(m.mean),
    [KEYS.std]: JSON.stringify(m.std),
    [KEYS.output]: m.output,
  };
  if (m.sourceModel !== undefined) props[KEYS.sourceModel] = m.sourceModel;
  if (m.modelCard !== undefined) props[KEYS.modelCard] = m.modelCard;
  return props;
}

/** Parses the metadata_props of a classifier file; a clear error names what is missing or malformed. */
export function parseClassifierMetadata(props: Record<string, string>): ClassifierMetadata {
  if (props[KEYS.kind] !== 'classifier') {
    throw new Error('this ONNX file is not a hyperclip classifier (no hyperclip.kind=classifier metadata); make one with `hyperclip generate`');
  }
  const json = (key: string): unknown => {
    const text = props[key];
    if (text === undefined) throw new Error(`classifier metadata lacks ${key}; regenerate the classifier`);
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`classifier metadata ${key} is not valid JSON: ${text.slice(0, 80)}`);
    }
  };
  const m: ClassifierMetadata = {
    classNames: json(KEYS.classes) as string[],
    inputSize: json(KEYS.inputSize) as [number, number],
    mean: json(KEYS.mean) as [number, number, number],
    std: json(KEYS.std) as [number, number, number],
    output: (props[KEYS.output] ?? 'logits') as ClassifierOutput,
    ...(props[KEYS.sourceModel] !== undefined ? { sourceModel: props[KEYS.sourceModel] } : {}),
    ...(props[KEYS.modelCard] !== undefined ? { modelCard: props[KEYS.modelCard] } : {}),
  };
  checkMetadata(m);
  return m;
}

const isNumbers = (x: unknown, n: number): boolean => Array.isArray(x) && x.length === n && x.every((v) => typeof v === 'number' && Number.isFinite(v));

function checkMetadata(m: ClassifierMetadata): void {
  if (!Array.isArray(m.classNames) || m.classNames.length === 0 || !m.classNames.every((c) => typeof c === 'string')) {
    throw new Error('classifier metadata: class names must be a non-empty list of strings');
  }
  if (!isNumbers(m.inputSize, 2) || !m.inputSize.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`classifier metadata: input size must be [height, width] positive integers, got ${JSON.stringify(m.inputSize)}`);
  }
  if (!isNumbers(m.mean, 3) || !isNumbers(m.std, 3) || m.std.some((s) => s <= 0)) {
    throw new Error(`classifier metadata: mean and std must be 3 numbers each (std > 0), got ${JSON.stringify(m.mean)} and ${JSON.stringify(m.std)}`);
  }
  if (!['softmax', 'sigmoid', 'logits'].includes(m.output)) {
    throw new Error(`classifier metadata: output must be softmax, sigmoid or logits, got ${JSON.stringify(m.output)}`);
  }
}
