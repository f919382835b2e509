import type { Command } from 'commander';
import { cudaAvailable, getNumThreads, libtorchVersion, useAllCores } from '../../engine/index.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('print the engine version, threads and devices')
    .addHelpText('after', '\nExample:\n  hyperclip info')
    .action(() => {
      useAllCores();
      console.log(`hyperclip engine: libtorch ${libtorchVersion()}, ${getNumThreads()} threads, cuda ${cudaAvailable() ? 'available' : 'not available'}`);
    });
}
