// The command lines a reader would type from the docs: every `hyperclip ...`,
// `node dist/...js ...` and `npm run ...` line in fenced or indented code
// blocks, and in inline code spans, of a markdown file; and their check
// against the real commander programs, parsed without running anything.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { createProgram } from '../../src/cli/program.js';
import { projectRoot } from '../../src/project-root.js';

export interface DocLine {
  file: string;
  /** 1-based line where the command starts. */
  line: number;
  /** The command as a reader would type it (continuations joined, comment dropped). */
  text: string;
  /** Inline code spans are often references ("`hyperclip eval --limit` reads"): an option or argument left out there is no error. */
  inline: boolean;
}

const COMMAND = /^(hyperclip(\s|$)|node\s+(\S*\/)?dist\/\S+\.js(\s|$)|npm\s+(run\s+\S+|test)(\s|$))/;

/** Shell words: quotes group, a # outside quotes starts a comment. */
export function words(text: string): string[] {
  const out: string[] = [];
  let current: string | null = null, quote: string | null = null;
  for (const ch of text) {
    if (quote !== null) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      current ??= '';
    } else if (/\s/.test(ch)) {
      if (current !== null) out.push(current);
      current = null;
    } else if (ch === '#' && current === null) {
      break;
    } else {
      current = (current ?? '') + ch;
    }
  }
  if (current !== null) out.push(current);
  return out;
}

/** The commands in one shell line: split at && ; |, leading VAR=value dropped, a launcher's (torchrun, srun) inner command kept. */
export function commandsIn(text: string): string[] {
  const found: string[] = [];
  for (const part of text.split(/&&|;|\|\|?/)) {
    let command = part.trim().replace(/^([A-Z_][A-Z0-9_]*=\S*\s+)+/, '');
    const inner = command.search(/\s(hyperclip|node dist\/)\s/);
    if (!COMMAND.test(command) && /^(torchrun|srun|mpirun|time|nice)\b/.test(command) && inner > 0) command = command.slice(inner + 1);
    if (COMMAND.test(command)) found.push(command);
  }
  return found;
}

export function docLines(file: string, markdown: string): DocLine[] {
  const out: DocLine[] = [];
  const lines = markdown.split('\n');
  let fenced = false;
  const prose: { line: number; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (/^\s*```/.test(raw)) { fenced = !fenced; continue; }
    const indented = !fenced && /^ {4}\S/.test(raw) && (i === 0 || lines[i - 1]!.trim() === '' || /^ {4}\S/.test(lines[i - 1]!));
    if (!fenced && !indented) { prose.push({ line: i + 1, text: raw }); continue; }
    let text = raw.trim(), start = i;
    while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1).trimEnd()} ${lines[++i]!.trim()}`;
    for (const command of commandsIn(text)) out.push({ file, line: start + 1, text: command, inline: false });
  }
  // Inline spans may wrap over lines of a paragraph: read the prose as one text, remembering where each line starts.
  const joined = prose.map((p) => p.text).join('\n');
  const starts: number[] = [];
  prose.reduce((offset, p) => { starts.push(offset); return offset + p.text.length + 1; }, 0);
  for (const match of joined.matchAll(/(?<!`)`([^`]+)`(?!`)/g)) {
    const span = match[1]!.replace(/\s+/g, ' ').trim().replace(/\[(-[^\]]*)\]/g, '$1');
    let lineIndex = 0;
    while (lineIndex + 1 < starts.length && starts[lineIndex + 1]! <= match.index!) lineIndex++;
    for (const command of commandsIn(span)) out.push({ file, line: prose[lineIndex]!.line, text: command, inline: true });
  }
  return out;
}

/** Every doc the check reads: the README and docs/*.md, as they are at test time. */
export function projectDocs(): { file: string; markdown: string }[] {
  const root = projectRoot();
  const docs = readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => path.join('docs', f));
  return ['README.md', ...docs].map((file) => ({ file, markdown: readFileSync(path.join(root, file), 'utf8') }));
}

/** Makes a program parse only: no action runs, nothing is printed, errors throw. */
export function parseOnly(program: Command): Command {
  const silence = (c: Command) => {
    c.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined });
    // Leaf commands get an action that does nothing; a program with subcommands keeps dispatching to them.
    if (c.commands.length === 0) c.action(() => undefined);
    c.commands.forEach(silence);
  };
  silence(program);
  return program;
}

/** What a script of package.json runs: the node entry (relative to the project) and the arguments the script itself passes. */
export function scriptEntry(script: string): { entry: string; args: string[] } | null {
  const match = /node\s+(dist\/\S+\.js)([^&|;]*)$/.exec(script);
  return match ? { entry: match[1]!, args: words(match[2]!) } : null;
}

const packageScripts = (): Record<string, string> =>
  (JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** Placeholders a doc writes for the reader's own values: not files to look for. */
const placeholder = (value: string) => /[<>]|^[A-Z_]+$|\.\.\./.test(value);

/** Parses args with the program; returns the problem as one line, or null. */
async function parseWith(program: Command, args: string[], inline: boolean): Promise<string | null> {
  const elided = args.indexOf('...'); // "hyperclip train ..." in prose: the rest is left to the reader
  const given = elided >= 0 ? args.slice(0, elided) : args;
  if (given[0] !== undefined && /^<.*>$/.test(given[0])) return null; // "hyperclip <command>": a pattern, not a command
  try {
    await parseOnly(program).parseAsync(given, { from: 'user' });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code === 'commander.helpDisplayed' || code === 'commander.help') return null;
    // An inline span that names a command or an option without its value refers to it; it is not a line to run.
    const reference = code === 'commander.missingArgument' || code === 'commander.missingMandatoryOptionValue' ||
      (code === 'commander.optionMissingArgument' && given.at(-1)!.startsWith('-'));
    if (inline && reference) return null;
    return (error as Error).message.replace(/^error: /, '');
  }
  const config = given.indexOf('--config');
  if (config >= 0 && given[config + 1] !== undefined && !placeholder(given[config + 1]!) && !existsSync(path.join(projectRoot(), given[config + 1]!))) {
    return `--config ${given[config + 1]}: no such file in the repository`;
  }
  return null;
}

async function scriptProgram(entry: string): Promise<Command | string> {
  if (entry === 'dist/src/cli/main.js') return createProgram();
  const file = path.join(projectRoot(), entry);
  if (!existsSync(file)) return `${entry} does not exist (is it built?)`;
  // Importing a script that runs on import would start it (an experiment, a bench): never import one without the guard.
  if (!readFileSync(file, 'utf8').includes('isEntryPoint(import.meta.url)')) return `${entry} runs when imported: export cli() and guard its main with isEntryPoint(import.meta.url)`;
  const module = await import(pathToFileURL(file).href) as { cli?: () => Command };
  return typeof module.cli === 'function' ? module.cli() : `${entry} exports no cli() to parse its options with`;
}

/** Checks one documented command line; returns what is wrong with it, or null. */
export async function checkLine(line: DocLine): Promise<string | null> {
  const argv = words(line.text);
  if (argv[0] === 'hyperclip') return parseWith(createProgram(), argv.slice(1), line.inline);
  if (argv[0] === 'node') {
    const entry = argv[1]!.replace(/^.*?(dist\/)/, '$1');
    const program = await scriptProgram(entry);
    return typeof program === 'string' ? program : parseWith(program, argv.slice(2), line.inline);
  }
  const scripts = packageScripts();
  const name = argv[1] === 'test' ? 'test' : argv[2]!;
  const script = scripts[name];
  if (script === undefined) return `npm has no script "${name}" (package.json has ${Object.keys(scripts).join(', ')})`;
  let rest = argv.slice(argv[1] === 'test' ? 2 : 3);
  if (rest.length === 0) return null;
  if (rest[0] !== '--') return `npm run ${name} passes its own options on only after "--": ${rest.join(' ')}`;
  rest = rest.slice(1);
  const entry = scriptEntry(script);
  if (entry === null) return `the script "${name}" (${script}) runs no node program to take ${rest.join(' ')}`;
  const program = await scriptProgram(entry.entry);
  return typeof program === 'string' ? program : parseWith(program, [...entry.args, ...rest], line.inline);
}

/** The bench scripts of package.json and their programs, for the --quick check. */
export async function benchPrograms(): Promise<{ name: string; program: Command | string }[]> {
  const benches = Object.entries(packageScripts()).filter(([name]) => name.startsWith('bench:'));
  return Promise.all(benches.map(async ([name, script]) => {
    const entry = scriptEntry(script);
    return { name, program: entry === null ? `runs no node program: ${script}` : await scriptProgram(entry.entry) };
  }));
}
