"""PyTorch side of bench:engine's ImageNet MobileNet v2 rows: the network of
src/models/image/mobilenet.ts as the TFLite importer builds it (width 1.0),
written here with plain torch.nn, with the same layer shapes and ops:
an input affine, ReLU6, TensorFlow's SAME padding (a strided convolution pads
one more pixel after than before), batch norm with frozen statistics (mean 0,
variance 1, eps 0: the importer's folded norm, a per-channel affine that trains),
global average pooling and a linear 1000-class head. Activations are not
in-place, as the engine's are not, so both sides run the same kernels.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from timed_session import TimedSession

# (expansion, output channels, blocks, first stride): the MobileNet v2 paper's table 2.
STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
STEM_CHANNELS = 32
FEATURES = 1280
CLASSES = 1000


class FrozenBatchNorm2d(nn.BatchNorm2d):
    """Normalises by the running statistics in training too and never updates them."""

    def __init__(self, channels):
        super().__init__(channels, eps=0.0)

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)


def tf_same_padding(size, kernel, stride):
    """(before, after) padding of one spatial side, as TensorFlow's SAME."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class ConvNormAct(nn.Module):
    def __init__(self, cin, cout, kernel, stride=1, groups=1, act=True):
        super().__init__()
        self.kernel, self.stride, self.act = kernel, stride, act
        # SAME equals symmetric k // 2 padding unless the convolution is strided.
        self.explicit_padding = stride > 1
        self.conv = nn.Conv2d(cin, cout, kernel, stride, 0 if self.explicit_padding else kernel // 2, groups=groups, bias=False)
        nn.init.kaiming_normal_(self.conv.weight, mode='fan_out', nonlinearity='relu')
        self.norm = FrozenBatchNorm2d(cout)

    def forward(self, x):
        if self.explicit_padding:
            top, bottom = tf_same_padding(x.shape[2], self.kernel, self.stride)
            left, right = tf_same_padding(x.shape[3], self.kernel, self.stride)
            x = F.pad(x, [left, right, top, bottom])
        y = self.norm(self.conv(x))
        return F.relu6(y) if self.act else y


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expansion):
        super().__init__()
        hidden = cin * expansion
        self.expand = ConvNormAct(cin, hidden, 1) if expansion != 1 else None
        self.depthwise = ConvNormAct(hidden, hidden, 3, stride, groups=hidden)
        self.project = ConvNormAct(hidden, cout, 1, act=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        h = x if self.expand is None else self.expand(x)
        h = self.project(self.depthwise(h))
        return x + h if self.residual else h


class MobileNetV2(nn.Module):
    def __init__(self, input_scale, input_shift):
        super().__init__()
        self.register_buffer('input_scale', torch.tensor(input_scale).reshape(1, 3, 1, 1))
        self.register_buffer('input_shift', torch.tensor(input_shift).reshape(1, 3, 1, 1))
        self.stem = ConvNormAct(3, STEM_CHANNELS, 3, 2)
        blocks, cin = [], STEM_CHANNELS
        for expansion, cout, repeats, stride in STAGES:
            for r in range(repeats):
                blocks.append(InvertedResidual(cin, cout, stride if r == 0 else 1, expansion))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = ConvNormAct(cin, FEATURES, 1)
        self.classifier = nn.Linear(FEATURES, CLASSES)

    def forward(self, images):
        x = images * self.input_scale + self.input_shift  # [B, 3, S, S], pixel / 128 - 1
        x = self.head(self.blocks(self.stem(x)))  # [B, 1280, S/32, S/32]
        return self.classifier(F.adaptive_avg_pool2d(x, 1).flatten(1))  # [B, 1000]


class MobileNetSession(TimedSession):
    """One bench row (spec: mode train|infer, size, batch, layout, input affine), kept between timed rounds."""

    def __init__(self, spec):
        torch.manual_seed(0)
        self.model = MobileNetV2(spec['inputScale'], spec['inputShift'])
        self.inputs = torch.randn(spec['batch'], 3, spec['size'], spec['size'])
        self.targets = torch.randint(0, CLASSES, (spec['batch'],))
        self.loss_fn = F.cross_entropy
        if spec['layout'] == 'channels_last':
            self.model = self.model.to(memory_format=torch.channels_last)
            self.inputs = self.inputs.contiguous(memory_format=torch.channels_last)
        self.training = spec['mode'] == 'train'
        self.model.train(self.training)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-3, weight_decay=0.05) if self.training else None

    def parameter_count(self):
        return sum(p.numel() for p in self.model.parameters())

    def step(self):
        if not self.training:
            with torch.no_grad():
                self.model(self.inputs)
            return
        self.optimizer.zero_grad(set_to_none=True)
        self.loss_fn(self.model(self.inputs), self.targets).backward()
        self.optimizer.step()
