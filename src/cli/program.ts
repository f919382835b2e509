// The `hyperclip` program: every command and option, without running
// anything. main.ts parses process.argv with it; the test of the documented
// command lines (test/docs/command-lines.test.ts) parses the docs' lines.
import { Command } from 'commander';
import { registerCommands } from './commands.js';

export function createProgram(): Command {
  const program = new Command('hyperclip')
    .description('HyperCLIP: class names in, a tiny standalone image classifier out')
    // A usage error stays one line, with the way to the help on it.
    .configureOutput({ outputError: (message, write) => write(`${message.trimEnd()} (run with --help for usage)\n`) })
    .exitOverride();
  registerCommands(program);
  return program;
}
