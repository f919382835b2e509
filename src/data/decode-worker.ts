// Worker thread body: decodes chunks sent by DecodePool.
import { parentPort } from 'node:worker_threads';
import { decodeChunk, type DecodeJob } from './decode-chunk.js';
import type { PreprocessSpec } from './preprocess.js';

interface Request { id: number; jobs: DecodeJob[]; spec: PreprocessSpec }

parentPort?.on('message', (request: Request) => {
  decodeChunk(request.jobs, request.spec).then(
    (chunk) => parentPort!.postMessage({ id: request.id, ...chunk }, [chunk.pixels.buffer as ArrayBuffer]),
    (error: Error) => parentPort!.postMessage({ id: request.id, failure: error.message }),
  );
});
