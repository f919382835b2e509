// What the page reads from a model folder (`hyperclip export-onnx` writes the
// two ONNX files; hyperclip serve exports them itself when a folder lacks them).
export { MODEL_FILES } from '../../src/deploy/model-files.js';

/** What a generator traced for one template without recording it was made with. */
export const DEFAULT_TEMPLATES = ['a photo of a {}.'];
