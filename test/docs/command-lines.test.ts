// The command lines of README.md and docs/*.md parse with the real programs
// (hyperclip's commands and options, recipes, npm scripts and the benches' and
// experiments' own options), read from the docs as they are at test time.
// Nothing is run: long commands need not be.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchPrograms, checkLine, docLines, parseOnly, projectDocs } from './command-lines.js';

test('every hyperclip, node dist/... and npm run line in README.md and docs/*.md parses', async (t) => {
  const lines = projectDocs().flatMap(({ file, markdown }) => docLines(file, markdown));
  const problems: string[] = [];
  for (const line of lines) {
    const problem = await checkLine(line);
    if (problem !== null) problems.push(`${line.file}:${line.line}: \`${line.text}\`: ${problem}`);
  }
  t.diagnostic(`${lines.length} command lines checked (${lines.filter((l) => !l.inline).length} in code blocks)`);
  assert.deepEqual(problems, []);
});

test('every bench takes --quick, as the README says', async () => {
  const refused: string[] = [];
  for (const { name, program } of await benchPrograms()) {
    if (typeof program === 'string') refused.push(`${name}: ${program}`);
    else {
      try {
        await parseOnly(program).parseAsync(['--quick'], { from: 'user' });
      } catch (error) {
        refused.push(`${name}: ${(error as Error).message}`);
      }
    }
  }
  assert.deepEqual(refused, []);
});

test('the check finds commands in code blocks, indented blocks and wrapped inline spans, and reports the wrong ones', async () => {
  const markdown = [
    'Run it:', '', '```sh', '# a comment', 'hyperclip train --preset tiny-hyperclip \\', '  --out runs/x   # trains', 'HYPERCLIP_THREADS=1 npm run bench:train -- --quick',
    'npm run bench:train -- --fast', '```', '', '    node dist/src/cli/main.js train --config experiments/probes/missing.json', '',
    'So `torchrun --nnodes 2 --no-python hyperclip train --preset b0-hyperclip', '--out /shared/b0` works, and `hyperclip eval --limit` reads a sample.',
  ].join('\n');
  const lines = docLines('fixture.md', markdown);
  assert.deepEqual(lines.map((l) => [l.line, l.text, l.inline]), [
    [5, 'hyperclip train --preset tiny-hyperclip --out runs/x   # trains', false],
    [7, 'npm run bench:train -- --quick', false],
    [8, 'npm run bench:train -- --fast', false],
    [11, 'node dist/src/cli/main.js train --config experiments/probes/missing.json', false],
    [13, 'hyperclip train --preset b0-hyperclip --out /shared/b0', true],
    [14, 'hyperclip eval --limit', true],
  ]);
  const verdicts = await Promise.all(lines.map((l) => checkLine(l)));
  assert.deepEqual(verdicts.map((v) => v === null), [true, true, false, false, false, true]);
  assert.match(verdicts[2]!, /unknown option '--fast'/);
  assert.match(verdicts[3]!, /--config experiments\/probes\/missing\.json: no such file/);
  assert.match(verdicts[4]!, /unknown recipe "b0-hyperclip"/);
});
