// The table of CLI commands: each lives in its own file under commands/.
import type { Command } from 'commander';
import { registerInfo } from './commands/info.js';
import { registerTokenizer } from './commands/tokenizer.js';
import { registerTrain } from './commands/train.js';
import { registerEval } from './commands/eval.js';
import { registerGenerate } from './commands/generate.js';
import { registerClassify } from './commands/classify.js';
import { registerServe } from './commands/serve.js';
import { registerExportOnnx } from './commands/export-onnx.js';
import { registerPrune } from './commands/prune.js';
import { registerCompress } from './commands/compress.js';
import { registerFewShot } from './commands/fewshot.js';
import { registerImport } from './commands/import.js';

export function registerCommands(program: Command): void {
  registerInfo(program);
  registerTokenizer(program);
  registerTrain(program);
  registerEval(program);
  registerGenerate(program);
  registerClassify(program);
  registerServe(program);
  registerExportOnnx(program);
  registerPrune(program);
  registerCompress(program);
  registerFewShot(program);
  registerImport(program);
}
