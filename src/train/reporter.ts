// How a training run tells its caller what it is doing: progress, messages,
// the end. Its own file, because the trainer, validation and the
// data-parallel role all speak through it and none should import another
// for it.

export interface TrainReporter {
  start(total: number, from: number): void;
  step(step: number, info: { loss: number; lr: number; imagesPerSecond: number }): void;
  message(text: string): void;
  stop(): void;
}

/** Says nothing: ranks other than 0 (rank 0 reports for the group), and API callers who pass no reporter. */
export const silentReporter: TrainReporter = { start: () => undefined, step: () => undefined, message: () => undefined, stop: () => undefined };
