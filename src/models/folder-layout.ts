// The one table of a model folder's files: what each is called and what it
// holds. Saving (models/io.ts, bundle/), exporting (deploy/), serving (cli/)
// and loading on Node and in the browser all name files through it. No
// imports, so the browser build and `hyperclip serve` use it without libtorch.
export const MODEL_FILES = {
  /** The resolved model config, its name and the evaluation preprocessing (written by saveModel). */
  config: 'config.json',
  /** Weights and batch-norm statistics (libtorch loads them; generation on onnxruntime does not). */
  weights: 'model.safetensors',
  /** The byte-level BPE tokenizer the text encoder was trained with. */
  tokenizer: 'tokenizer.json',
  /** Optional: the model card, stored in every generated classifier. */
  card: 'MODEL_CARD.md',
  /** Text encoder + hypernetwork: ids [K, P, T] -> class embeddings and norm parameters. */
  generator: 'generator.onnx',
  /** The image encoder with the norm parameters as inputs. */
  encoder: 'encoder.onnx',
} as const;

export type ModelFileRole = keyof typeof MODEL_FILES;

/**
 * What generation without libtorch reads (the page, `hyperclip serve`,
 * `--engine onnx`): these must be there, the card may be; the weights are never read.
 */
export const DEPLOYED_FILES = {
  required: ['generator', 'encoder', 'tokenizer', 'config'],
  optional: ['card'],
} as const satisfies { required: readonly ModelFileRole[]; optional: readonly ModelFileRole[] };

/** The deployed files by name, required ones first: what a server of the folder offers. */
export const deployedFileNames = (): string[] => [...DEPLOYED_FILES.required, ...DEPLOYED_FILES.optional].map((role) => MODEL_FILES[role]);
