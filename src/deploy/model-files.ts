// The files of a model folder that generation without libtorch reads: one
// table for the Node side (export-onnx, serve) and the browser page. No
// imports, so the page and `hyperclip serve` can use it without libtorch.
export const MODEL_FILES = {
  /** Text encoder + hypernetwork: ids [K, P, T] -> class embeddings and norm parameters. */
  generator: 'generator.onnx',
  /** Image encoder with the norm parameters as inputs. */
  encoder: 'encoder.onnx',
  tokenizer: 'tokenizer.json',
  /** The model's config.json: its name and evaluation preprocessing. */
  config: 'config.json',
  /** Optional: stored in every generated classifier. */
  card: 'MODEL_CARD.md',
} as const;
