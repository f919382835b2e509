// The engine: tensors, autograd, modules, optimisers and files over libtorch.
export * from './tensor.js';
export * as F from './functional.js';
export * from './runtime.js';
export * from './scope.js';
export * from './dtype.js';
export * from './nn/module.js';
export * from './nn/layers.js';
export * as init from './init.js';
export * from './optim.js';
export * from './safetensors.js';
export * from './atomic-write.js';
export { withTracer, activeTracer, type Tracer, type TraceInput } from './trace.js';
export * from './distributed.js';
export * from './grad-hooks.js';
