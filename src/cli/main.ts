#!/usr/bin/env node
// `hyperclip <command>`: composes the library; no logic of its own beyond argument handling.
import { CommanderError } from 'commander';
import { createProgram } from './program.js';

try {
  await createProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`hyperclip: ${message}\n`);
  if (process.env.HYPERCLIP_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}
