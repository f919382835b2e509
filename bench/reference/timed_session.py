"""What every PyTorch bench row shares (engine.py's training rows and
mobilenet_v2.py's ImageNet rows): a session keeps its model, fixed batch and
optimiser between timed rounds, times each step the same way and reports the
final loss on the same batch."""
import time

import torch


class TimedSession:
    """A bench row. Subclasses set model, inputs, targets and loss_fn, and define step()."""

    def step(self):
        raise NotImplementedError

    def time(self, steps):
        """The seconds of each of `steps` more steps, a perf_counter around each."""
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            self.step()
            times.append(time.perf_counter() - start)
        return times

    def loss(self):
        with torch.no_grad():
            return self.loss_fn(self.model(self.inputs), self.targets).item()
