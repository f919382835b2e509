// The page: load the model, generate a classifier from typed class names,
// classify picked, dropped or photographed images with it.
import { decodeImageBlob, webRunner, type CheckedClassNames, type RawImage } from 'hyperclip/web';
import { parseClassList } from './classes.js';
import { generateInBrowser, type PageClassifier } from './generate.js';
import { loadModel, modelUrl, type WebModel } from './model-source.js';
import { configureRuntime, runtimeFor, type RuntimeInfo } from './ort-runner.js';
import { PRESETS } from './presets.js';
import { addResultCard, type ResultCard } from './view/results.js';
import { messageOf, showError, showStatus } from './view/status.js';

const TOP_K = 5;

interface PageImage {
  name: string;
  raw: RawImage;
  card: ResultCard;
}

const state: { model: WebModel | null; runtime: RuntimeInfo | null; current: PageClassifier | null; images: PageImage[]; busy: boolean } = {
  model: null, runtime: null, current: null, images: [], busy: false,
};

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const ui = {
  preset: $<HTMLSelectElement>('preset'), classes: $<HTMLTextAreaElement>('classes'),
  generate: $<HTMLButtonElement>('generate'), download: $<HTMLButtonElement>('download'),
  pick: $<HTMLInputElement>('pick'), camera: $<HTMLInputElement>('camera'),
  dropzone: $<HTMLDivElement>('dropzone'), dropzoneHint: $<HTMLParagraphElement>('dropzone-hint'),
  results: $<HTMLOListElement>('results'), modelInfo: $<HTMLParagraphElement>('model-info'),
};

async function boot(): Promise<void> {
  for (const preset of PRESETS) ui.preset.add(new Option(preset.label, preset.id));
  let started: number;
  try {
    state.runtime = await configureRuntime();
    state.model = await loadModel(modelUrl(window.location), runtimeFor(state.runtime.backend));
    // The first session compiles the runtime's WebAssembly: done now, it stays out of the generation time.
    started = performance.now();
    await (await webRunner(runtimeFor(state.runtime.backend))(state.model.encoder)).release();
  } catch (err) {
    ui.modelInfo.textContent = 'No model loaded.';
    showStatus('The model could not be loaded.', 'error');
    showError(messageOf(err));
    return;
  }
  const [m, r] = [state.model, state.runtime];
  ui.modelInfo.textContent = `Model ${m.name}: ${m.imageSize}×${m.imageSize} images, ${m.templates.length} prompt template(s); ` +
    `onnxruntime-web on ${r.backend}, ${r.threads} thread${r.threads === 1 ? '' : 's'}, started in ${((performance.now() - started) / 1000).toFixed(2)} s.`;
  ui.generate.disabled = false;
  showStatus('Model ready: type class names (or pick a list) and press Generate classifier.', 'idle');
}

async function onGenerate(): Promise<void> {
  if (state.model === null || state.busy) return;
  let classNames: CheckedClassNames;
  try {
    classNames = parseClassList(ui.classes.value);
  } catch (err) {
    showError(messageOf(err));
    showStatus('Fix the class list, then generate again.', 'error');
    ui.classes.focus();
    return;
  }
  setBusy(true);
  showError(null);
  showStatus(`Generating a classifier for ${classNames.names.length} classes…`, 'busy');
  try {
    const previous = state.current;
    state.current = await generateInBrowser(state.model, classNames, runtimeFor(state.runtime!.backend));
    await previous?.classifier.release();
    showStats(state.current);
    showStatus(`Classifier for ${classNames.names.length} classes ready in ${state.current.timings.total.toFixed(2)} s. Add images to classify.`, 'ready');
    for (const image of state.images) await classifyImage(image);
  } catch (err) {
    showError(`Generation failed: ${messageOf(err)}`);
    showStatus('Generation failed.', 'error');
  } finally {
    setBusy(false);
  }
}

function setBusy(busy: boolean): void {
  state.busy = busy;
  ui.generate.disabled = busy || state.model === null;
  const ready = !busy && state.current !== null;
  ui.download.disabled = !ready;
  ui.pick.disabled = !ready;
  ui.camera.disabled = !ready;
  ui.dropzone.dataset.enabled = String(ready);
  ui.dropzoneHint.textContent = state.current === null ? 'Generate a classifier first, then drop images here or:' : 'Drop images here, or:';
  ui.generate.setAttribute('aria-busy', String(busy));
}

function showStats(c: PageClassifier): void {
  const t = c.timings;
  $('stat-classes').textContent = String(c.classifier.metadata.classNames.length);
  $('stat-time').textContent = `${t.total.toFixed(2)} s`;
  $('stat-time-detail').textContent = `generator ${t.generate.toFixed(2)} s, folding ${t.build.toFixed(2)} s, session ${t.open.toFixed(2)} s`;
  $('stat-size').textContent = `${(c.bytes.byteLength / 1024).toFixed(0)} KB`;
  const threads = state.runtime!.threads;
  $('stat-backend').textContent = `${state.runtime!.backend}, ${threads} thread${threads === 1 ? '' : 's'}`;
  $('classifier-stats').hidden = false;
}

function onDownload(): void {
  const current = state.current;
  if (current === null) return;
  const url = URL.createObjectURL(new Blob([current.bytes as BlobPart], { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = `hyperclip-${current.classifier.metadata.classNames.length}-classes.onnx`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function addFiles(files: Iterable<File>): Promise<void> {
  if (state.current === null || state.busy) {
    showError(state.busy ? 'A classifier is being generated: add the images when it is ready.' : 'Generate a classifier first: type class names and press Generate classifier.');
    return;
  }
  showError(null);
  for (const file of files) {
    const card = addResultCard(ui.results, file.name, URL.createObjectURL(file));
    try {
      const image: PageImage = { name: file.name, raw: await decodeImageBlob(file, file.name), card };
      state.images.push(image);
      await classifyImage(image);
    } catch (err) {
      card.fail(messageOf(err));
      showError(messageOf(err));
      showStatus(`${file.name} was not classified.`, 'error');
    }
  }
}

async function classifyImage(image: PageImage): Promise<void> {
  const { classifier } = state.current!;
  const pixels = classifier.toInput(image.raw); // [3, S, S]
  const started = performance.now();
  const [topk] = await classifier.classifyTensor(pixels, { topK: TOP_K, normalized: true });
  const ms = performance.now() - started;
  image.card.show(topk!, ms);
  showStatus(`${image.name}: ${topk![0]!.label} (${(100 * topk![0]!.probability).toFixed(1)}%), ${ms.toFixed(1)} ms.`, 'ready');
}

function wireEvents(): void {
  ui.generate.addEventListener('click', () => void onGenerate());
  ui.classes.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void onGenerate();
  });
  ui.preset.addEventListener('change', () => {
    const preset = PRESETS.find((p) => p.id === ui.preset.value);
    if (preset !== undefined) ui.classes.value = preset.classes.join('\n');
  });
  ui.classes.addEventListener('input', () => { ui.preset.value = ''; });
  ui.download.addEventListener('click', onDownload);
  for (const input of [ui.pick, ui.camera]) {
    input.addEventListener('change', () => {
      const files = [...(input.files ?? [])];
      input.value = '';
      void addFiles(files);
    });
  }
  ui.dropzone.addEventListener('dragover', (e) => {
    e.preventDefault();
    ui.dropzone.dataset.active = 'true';
  });
  ui.dropzone.addEventListener('dragleave', () => { ui.dropzone.dataset.active = 'false'; });
  ui.dropzone.addEventListener('drop', (e) => {
    e.preventDefault();
    ui.dropzone.dataset.active = 'false';
    void addFiles([...(e.dataTransfer?.files ?? [])]);
  });
}

wireEvents();
void boot();
