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


function load(): NativeBinding {
  const addon = process.env.HYPERCLIP_ADDON ?? path.join(projectRoot(), 'native/build/Release/hyperclip_torch.node');
  if (!existsSync(addon)) {
    throw new Error(`hyperclip: libtorch addon not built (looked for ${addon}): run \`bash scripts/setup.sh\``);
  }
  try {
    return createRequire(import.meta.url)(addon) as NativeBinding;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`hyperclip: could not load the libtorch addon ${addon}: ${message}. ` +
      'Run `bash scripts/setup.sh` (installs libtorch-dev and rebuilds), or set LIBTORCH=/path/to/libtorch and rebuild.');
  }
}

let binding: NativeBinding | null = null;

/** The addon, loaded on first use so that importing the engine never fails by itself. */
export function native(): NativeBinding {
  if (binding === null) binding = load();
  return binding;
}
