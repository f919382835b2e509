// The files a model folder serves to the page (src/deploy/deploy-files.ts
// names the two ONNX files; `hyperclip export-onnx` writes them, and
// hyperclip serve exports them itself when a folder lacks them).
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

/** What a generator traced for one template without recording it was made with. */
export const DEFAULT_TEMPLATES = ['a photo of a {}.'];
