// Launch options of `hyperclip train` that cannot take effect are one error
// line, and a missing NCCL is a warning that names the Gloo fallback:
// nothing is ignored or falls back silently.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchRole, WORKER_MARK, type LaunchRequest } from '../../src/train/distributed-launch.js';
import { groupBackend } from '../../src/train/distributed.js';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const defaults = { nnodes: 1, nodeRank: 0, masterAddr: '127.0.0.1', masterPort: 29500 };
const request = (typed: Partial<LaunchRequest>, given: LaunchRequest['given'] = new Set()): LaunchRequest => ({ ...defaults, ...typed, given });
const noGroup = {};

test('node options without --nproc-per-node are an error, not a silent single process', () => {
  assert.throws(() => launchRole(request({ nnodes: 2, masterAddr: '10.0.0.1' }, new Set(['nnodes', 'masterAddr'])), noGroup),
    /^Error: --nnodes, --master-addr need --nproc-per-node \(the number of worker processes on this node\): without it the run is one process/);
  assert.throws(() => launchRole(request({ masterPort: 29501 }, new Set(['masterPort'])), noGroup), /^Error: --master-port needs --nproc-per-node/);
  assert.throws(() => launchRole(request({ distTimeout: 5 }, new Set(['distTimeout'])), noGroup), /--dist-timeout cannot take effect: the run is one process/);
  assert.equal(launchRole(request({}), noGroup), 'single');
});

test('launch options inside a torchrun or srun worker are an error; our own workers pass', () => {
  const torchrun = { RANK: '1', WORLD_SIZE: '4', LOCAL_RANK: '1' };
  assert.throws(() => launchRole(request({ nprocPerNode: 2 }, new Set(['nprocPerNode'])), torchrun),
    /--nproc-per-node cannot take effect here: this process is already rank 1 of 4 from its environment/);
  assert.equal(launchRole(request({ distTimeout: 60 }, new Set(['distTimeout'])), torchrun), 'worker');
  assert.equal(launchRole(request({ nprocPerNode: 2, nnodes: 2, masterAddr: '10.0.0.1' }, new Set(['nprocPerNode', 'nnodes', 'masterAddr'])),
    { ...torchrun, [WORKER_MARK]: '1' }), 'worker');
});

test('several nodes need a typed --master-addr; 127.0.0.1 typed means every node on this machine', () => {
  assert.throws(() => launchRole(request({ nprocPerNode: 2, nnodes: 2 }, new Set(['nprocPerNode', 'nnodes'])), noGroup), /--nnodes 2 needs --master-addr/);
  assert.equal(launchRole(request({ nprocPerNode: 2, nnodes: 2 }, new Set(['nprocPerNode', 'nnodes', 'masterAddr'])), noGroup), 'launcher');
  assert.throws(() => launchRole(request({ nprocPerNode: 2, nnodes: 2, nodeRank: 2 }, new Set(['nprocPerNode', 'nnodes', 'nodeRank', 'masterAddr'])), noGroup),
    /--node-rank 2 must be below --nnodes 2/);
});

test('a CUDA device without NCCL falls back to Gloo with one warning line that names the fallback', () => {
  const warnings: string[] = [];
  assert.equal(groupBackend('cuda:1', false, (line) => warnings.push(line)), 'gloo');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^--device cuda:1: this libtorch build has no NCCL, so the ranks' collectives fall back to Gloo/);
  assert.equal(groupBackend('cuda', true, (line) => warnings.push(line)), 'nccl');
  assert.equal(groupBackend('cpu', false, (line) => warnings.push(line)), 'gloo');
  assert.equal(warnings.length, 1, 'NCCL present, or the CPU: nothing to warn about');
});

test('the CLI refuses ignored launch options, an unknown recipe and an overlapped all-reduce in one process with one line on stderr', () => {
  const { RANK: _rank, WORLD_SIZE: _world, ...env } = process.env; // as a user's shell: not inside a launcher
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'train', ...args], { encoding: 'utf8', env });
  const ignored = run('--preset', 'test-tiny', '--nnodes', '2', '--out', '/nonexistent/never-written');
  assert.equal(ignored.status, 1);
  assert.equal(ignored.stderr, 'hyperclip: --nnodes needs --nproc-per-node (the number of worker processes on this node): ' +
    'without it the run is one process and they would be ignored; add --nproc-per-node N, or drop them\n');
  const preset = run('--preset', 'b0-hyperclip');
  assert.equal(preset.status, 1);
  assert.equal(preset.stderr.trimEnd().split('\n').length, 1);
  assert.match(preset.stderr, /unknown recipe "b0-hyperclip" \("b0-hyperclip" is a model preset: a --config file with/);
  // --overlap-allreduce reaches the recipe (overlapAllReduce), and one process cannot use it.
  const overlap = run('--preset', 'test-tiny', '--overlap-allreduce', '--out', '/nonexistent/never-written');
  assert.equal(overlap.status, 1);
  assert.equal(overlap.stderr.trimEnd().split('\n').length, 1, overlap.stderr);
  assert.match(overlap.stderr, /overlapAllReduce \(--overlap-allreduce\) overlaps the ranks' gradient all-reduce with backward, and this run is one process/);
});
