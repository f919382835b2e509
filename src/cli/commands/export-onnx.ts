import type { Command } from 'commander';
import { loadBundle } from '../../bundle/bundle.js';
import { useAllCores } from '../../engine/index.js';
import { writeDeployFiles } from '../../deploy/deploy-files.js';
import { resolveTemplates } from '../../eval/templates.js';

export function registerExportOnnx(program: Command): void {
  program
    .command('export-onnx')
    .description('write generator.onnx and encoder.onnx into a model folder, so that generate runs on onnxruntime without libtorch')
    .option('--model <dir>', 'a model folder (default: the shipped models/default)')
    .option('--templates <simple|file>', 'the prompt templates the generator will use: "a photo of a {}." or a JSON list', 'simple')
    .addHelpText('after', '\nExamples:\n  hyperclip export-onnx --model runs/tiny/model\n  hyperclip export-onnx --templates templates.json')
    .action((opts: { model?: string; templates: string }) => {
      useAllCores();
      const bundle = loadBundle(opts.model);
      const templates = resolveTemplates(opts.templates, null);
      const files = writeDeployFiles(bundle, templates);
      console.log(`wrote ${files.generator} and ${files.encoder} (${(files.bytes / 1024).toFixed(0)} KB, ${templates.length} template(s))`);
    });
}
