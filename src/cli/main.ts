#!/usr/bin/env node
// `hyperclip <command>`: composes the library; no logic of its own beyond argument handling.
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands.js';

const program = new Command('hyperclip')
  .description('HyperCLIP: class names in, a tiny standalone image classifier out')
  // A usage error stays one line, with the way to the help on it.
  .configureOutput({ outputError: (message, write) => write(`${message.trimEnd()} (run with --help for usage)\n`) })
  .exitOverride();

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`hyperclip: ${message}\n`);
  if (process.env.HYPERCLIP_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}
