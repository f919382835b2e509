// Loads the libtorch addon. Only the engine imports this file: models and
// everything above call the engine's functions, so that the same model code
// can also run on a tracing backend.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../project-root.js';

/** An opaque native tensor handle (a Node-API external). */
export type Handle = { readonly __nativeTensor: unique symbol };

export interface NativeBinding {
  [name: string]: (...args: any[]) => any;
}


/** Where the addon is expected: HYPERCLIP_ADDON, else the package's native/build. */
export const addonPath = (): string => process.env.HYPERCLIP_ADDON ?? path.join(projectRoot(), 'native/build/Release/hyperclip_torch.node');

/** Whether the addon file exists (built), without loading it. */
export const addonBuilt = (): boolean => existsSync(addonPath());

// The addon is optional (generation and classification run on onnxruntime):
// the one line says what needs it and how to build it, in a clone or an install.
const HOW_TO_BUILD = 'install libtorch (Debian: apt-get install libtorch-dev, or LIBTORCH=/path/to/libtorch) and run `npm run build:native` ' +
  'in the hyperclip folder (a clone of the repository: `bash scripts/setup.sh`)';

function load(): NativeBinding {
  const addon = addonPath();
  if (!existsSync(addon)) {
    throw new Error(`training, evaluation and the libtorch engine need the libtorch addon, which is not built (${addon}): ${HOW_TO_BUILD}`);
  }
  try {
    return createRequire(import.meta.url)(addon) as NativeBinding;
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new Error(`could not load the libtorch addon ${addon} (${message}): ${HOW_TO_BUILD}`);
  }
}

let binding: NativeBinding | null = null;

/** The addon, loaded on first use so that importing the engine never fails by itself. */
export function native(): NativeBinding {
  if (binding === null) binding = load();
  return binding;
}
