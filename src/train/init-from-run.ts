// Starting parts of a model from another run: the tensors under the given
// name prefixes are copied from that run's last checkpoint (its model
// tensors, not its optimiser state). Every named part must exist in both and
// match in shape, so a stage never silently starts from scratch.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadSafetensors, noGrad, type Module, type Tensor } from '../engine/index.js';
import { dataRoot } from '../data/index.js';
import { importMobileNetFile, pretrainedFile } from '../models/import/pretrained-ref.js';
import { matches } from './param-groups.js';
import type { InitFrom } from './recipes.js';

const CHECKPOINT = 'checkpoint.safetensors';

/** The tensors a run's checkpoint holds (named "model.…"), or an imported network's (the same names). */
function sourceTensors(from: string): { tensors: Map<string, Tensor>; file: string } {
  const tflite = pretrainedFile(from);
  if (tflite !== null) {
    const { classifier } = importMobileNetFile(tflite, `init: no pretrained network at ${tflite}: name a file of ${path.join(dataRoot(), 'pretrained')}`);
    const tensors = new Map([...classifier.stateDict()].map(([name, t]) => [`model.${name}`, t]));
    return { tensors, file: tflite };
  }
  const file = from.endsWith('.safetensors') ? from : path.join(from, CHECKPOINT);
  if (!existsSync(file)) throw new Error(`init: no checkpoint at ${file}: train that run first (its recipe's first stage), or import the network (hyperclip import)`);
  return { tensors: loadSafetensors(file).tensors, file };
}

/** Copies the parts in place; returns how many tensors were copied. */
export function initFromRun(model: Module, init: InitFrom): number {
  const { tensors, file } = sourceTensors(init.from);
  try {
    const state = new Map([...model.namedParameters(), ...model.namedBuffers()]);
    let copied = 0;
    for (const part of init.parts) {
      const names = [...state.keys()].filter((name) => matches(name, part));
      if (names.length === 0) throw new Error(`init: this model has no part "${part}"`);
      for (const name of names) {
        const source = tensors.get(`model.${name}`);
        if (source === undefined) throw new Error(`init: ${file} has no tensor ${name}: was it trained with another image encoder?`);
        const target = state.get(name)!;
        if (source.shape.join() !== target.shape.join()) {
          throw new Error(`init: ${name} is [${source.shape}] in ${file} but [${target.shape}] here: the two models differ`);
        }
        noGrad(() => target.copy_(source));
        copied++;
      }
    }
    return copied;
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
