// Drives bench/reference/engine.py (PyTorch) as a child process that answers
// one JSON request per line (see serve() there). It sits blocked on stdin while
// the engine side runs, so the two never compute at the same time.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunSettings } from './engine-runs.js';
import { applyThreadWaitDefaults } from '../src/engine/thread-waits.js';

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/reference/engine.py');

export class PyTorchReference {
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams, reader: Interface, private readonly python: string) {
    this.lines = reader[Symbol.asyncIterator]();
    child.stderr.on('data', (chunk: Buffer) => { this.stderr = (this.stderr + chunk.toString()).slice(-4000); });
  }

  static async start(python: string, threads: number, warmup: number, settings: RunSettings): Promise<PyTorchReference> {
    const args = [script, '--serve', '--threads', String(threads), '--warmup', String(warmup),
      '--batch', String(settings.batch), '--seq', String(settings.seq), '--vocab', String(settings.vocab)];
    // The reference waits as the engine's libtorch does: both sides of a ratio on the same thread waits.
    applyThreadWaitDefaults();
    const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    child.on('error', () => { /* reported by the first request */ });
    const reference = new PyTorchReference(child, createInterface({ input: child.stdout }), python);
    const hello = await reference.next() as { threads: number };
    if (hello.threads !== threads) throw new Error(`PyTorch runs ${hello.threads} threads, expected ${threads}`);
    return reference;
  }

  /**
   * Builds the named model on the PyTorch side (from `spec` where given: a
   * MobileNet v2 row) and runs its warm-up steps; answers the model's
   * parameter count for a MobileNet v2 row.
   */
  async open(name: string, warmup: number, spec?: object): Promise<{ parameters?: number }> {
    return await this.request({ open: name, warmup, ...(spec === undefined ? {} : { spec }) }) as { parameters?: number };
  }

  /** Seconds per step for `steps` more PyTorch steps. */
  async time(name: string, steps: number): Promise<number[]> {
    return (await this.request({ time: name, steps }) as { step_seconds: number[] }).step_seconds;
  }

  /** The PyTorch model's loss now; releases it. */
  async closeSession(name: string): Promise<number> {
    return (await this.request({ close: name }) as { loss: number }).loss;
  }

  async dispatchMicroseconds(iterations: number): Promise<number> {
    return (await this.request({ dispatch: iterations }) as { us: number }).us;
  }

  private async request(body: object): Promise<unknown> {
    this.child.stdin.write(JSON.stringify(body) + '\n');
    return await this.next();
  }

  close(): void {
    this.child.stdin.end();
  }

  private async next(): Promise<unknown> {
    const { value, done } = await this.lines.next();
    if (done) {
      const last = this.stderr.trim().split('\n').pop() ?? 'no output';
      throw new Error(`the PyTorch reference (${this.python} ${path.relative(process.cwd(), script)}) stopped: ${last}. ` +
        'It needs Debian\'s python3-torch: run `bash scripts/setup.sh`, or pass --python PATH');
    }
    return JSON.parse(value as string);
  }
}
