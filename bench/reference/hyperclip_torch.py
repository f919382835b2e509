"""Plain PyTorch version of our HyperClip family (src/models/*), for parity
checks and the side-by-side training benchmark (bench/train-torch.ts).

Built from the resolved ModelConfig JSON; module and parameter names follow
our TypeScript field names, so our safetensors state dict loads strictly
(every key present, every shape equal). Written from our TS code: where the
two could differ (BN with per-sample scale/shift, end-token pooling, the
hypernetwork head's split order) the TS behaviour is the spec.

Run with Debian's python (/usr/bin/python3, python3-torch 1.13).
"""
import json
import math
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- safetensors (the python3 on the bench machines has no safetensors package) ----

_DTYPES = {'F32': torch.float32, 'F64': torch.float64, 'I64': torch.int64, 'I32': torch.int32, 'U8': torch.uint8,
           'BOOL': torch.bool, 'F16': torch.float16, 'BF16': torch.bfloat16}
_NAMES = {v: k for k, v in _DTYPES.items()}


def load_safetensors(path):
    """-> (dict name -> tensor, metadata dict)."""
    with open(path, 'rb') as f:
        data = f.read()
    (length,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + length].decode('utf8'))
    start = 8 + length
    metadata = header.pop('__metadata__', {})
    out = {}
    for name, entry in header.items():
        begin, end = entry['data_offsets']
        dtype = _DTYPES[entry['dtype']]
        raw = bytearray(data[start + begin:start + end])
        t = torch.frombuffer(raw, dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(entry['shape']).clone()
    return out, metadata


def save_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata:
        header['__metadata__'] = metadata
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        b = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {'dtype': _NAMES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header)
    text += ' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text.encode('utf8'))))
        f.write(text.encode('utf8'))
        for b in blobs:
            f.write(b)


# ---- image encoder: src/models/image/blocks.ts, efficientnet.ts, mobilenetv3.ts ----

def activate(x, act):
    if act == 'silu':
        return F.silu(x)
    if act == 'hardswish':
        return F.hardswish(x)
    if act == 'relu':
        return F.relu(x)
    return x


def make_divisible(value, divisor=8):
    base = math.floor(value + divisor / 2)
    rounded = max(divisor, base - base % divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class BatchNorm2d(nn.Module):
    """Our BatchNorm2d: buffers runningMean/runningVar (no num_batches_tracked),
    and an optional per-sample affine [N, C] applied after a non-affine BN."""

    def __init__(self, channels, eps=1e-5, momentum=0.1):
        super().__init__()
        self.channels, self.eps, self.momentum = channels, eps, momentum
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer('runningMean', torch.zeros(channels))
        self.register_buffer('runningVar', torch.ones(channels))

    def forward(self, x, scale=None, shift=None):
        if scale is None:
            return F.batch_norm(x, self.runningMean, self.runningVar, self.weight, self.bias, self.training, self.momentum, self.eps)
        normalized = F.batch_norm(x, self.runningMean, self.runningVar, None, None, self.training, self.momentum, self.eps)
        # shift + normalized * scale in one pass, as the TypeScript BatchNorm2d does.
        return torch.addcmul(shift.reshape(shift.shape[0], self.channels, 1, 1), normalized, scale.reshape(scale.shape[0], self.channels, 1, 1))


class ConvNormAct(nn.Module):
    def __init__(self, in_c, out_c, kernel, act, stage, stride=1, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(in_c, out_c, kernel, stride, kernel // 2, groups=groups, bias=False)
        self.norm = BatchNorm2d(out_c)
        self.act, self.stage = act, stage
        self.norm_name = ''

    def forward(self, x, overrides=None):
        y = self.conv(x)
        o = None if overrides is None else overrides.get(self.norm_name)
        y = self.norm(y) if o is None else self.norm(y, o[0], o[1])
        return activate(y, self.act)


class SqueezeExcite(nn.Module):
    def __init__(self, channels, reduced, act, gate):
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1, bias=True)
        self.expand = nn.Conv2d(reduced, channels, 1, bias=True)
        self.act, self.gate = act, gate

    def forward(self, x):
        pooled = x.mean((2, 3), keepdim=True)  # [N, C, 1, 1]
        logits = self.expand(activate(self.reduce(pooled), self.act))
        weights = torch.sigmoid(logits) if self.gate == 'sigmoid' else F.hardsigmoid(logits)
        return x * weights


class MBConv(nn.Module):
    def __init__(self, in_c, mid_c, out_c, kernel, stride, act, se_channels, se_act, se_gate, drop_path, stage):
        super().__init__()
        self.expandConv = None if mid_c == in_c else ConvNormAct(in_c, mid_c, 1, act, stage)
        self.depthwise = ConvNormAct(mid_c, mid_c, kernel, act, stage, stride=stride, groups=mid_c)
        self.se = SqueezeExcite(mid_c, se_channels, se_act, se_gate) if se_channels > 0 else None
        self.project = ConvNormAct(mid_c, out_c, 1, 'none', stage)
        self.residual = stride == 1 and in_c == out_c
        self.drop_path = drop_path

    def forward(self, x, overrides=None):
        h = x if self.expandConv is None else self.expandConv(x, overrides)
        h = self.depthwise(h, overrides)
        if self.se is not None:
            h = self.se(h)
        h = self.project(h, overrides)
        if not self.residual:
            return h
        if self.training and self.drop_path > 0:
            # The engine draws its own mask: with drop path on, the two sides cannot agree.
            keep = (torch.rand(h.shape[0], 1, 1, 1) >= self.drop_path).float()
            h = h * (keep / (1 - self.drop_path))
        return x + h


class StemBlocksHead(nn.Module):
    def _register_norms(self):
        """Names every ConvNormAct's norm by module path, in forward (module-tree) order, as registerNormLayers."""
        self.norm_layers = []
        for path, m in self.named_modules():
            if isinstance(m, ConvNormAct):
                m.norm_name = f'{path}.norm'
                self.norm_layers.append((m.norm_name, m.norm.channels, m.stage))

    def forward(self, images, overrides=None):
        x = images.contiguous(memory_format=torch.channels_last) if self.channels_last else images
        x = self.stem(x, overrides)
        for block in self.blocks:
            x = block(x, overrides)
        x = self.head(x, overrides)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


class EfficientNet(StemBlocksHead):
    def __init__(self, c):
        super().__init__()
        self.channels_last = c['channelsLast']
        width = lambda ch: make_divisible(ch * c['widthMultiplier'])
        stem_c = width(c['stemChannels'])
        self.stem = ConvNormAct(3, stem_c, 3, 'silu', 0, stride=2)
        plan = [dict(s, repeats=math.ceil(s['repeats'] * c['depthMultiplier'])) for s in c['stages']]
        total = sum(s['repeats'] for s in plan)
        blocks = []
        in_c = stem_c
        for stage_index, s in enumerate(plan):
            out_c = width(s['channels'])
            for r in range(s['repeats']):
                se = max(1, math.floor(in_c * c['seRatio'])) if c['seRatio'] > 0 else 0
                blocks.append(MBConv(in_c, in_c * s['expand'], out_c, s['kernel'], s['stride'] if r == 0 else 1, 'silu',
                                     se, 'silu', 'sigmoid', c['dropPath'] * len(blocks) / total, stage_index + 1))
                in_c = out_c
        self.blocks = nn.ModuleList(blocks)
        self.feature_dim = width(c['headChannels'])
        self.head = ConvNormAct(in_c, self.feature_dim, 1, 'silu', len(plan) + 1)
        self._register_norms()


_MNV3_LARGE = [
    (3, 16, 16, False, 'RE', 1), (3, 64, 24, False, 'RE', 2), (3, 72, 24, False, 'RE', 1),
    (5, 72, 40, True, 'RE', 2), (5, 120, 40, True, 'RE', 1), (5, 120, 40, True, 'RE', 1),
    (3, 240, 80, False, 'HS', 2), (3, 200, 80, False, 'HS', 1), (3, 184, 80, False, 'HS', 1), (3, 184, 80, False, 'HS', 1),
    (3, 480, 112, True, 'HS', 1), (3, 672, 112, True, 'HS', 1),
    (5, 672, 160, True, 'HS', 2), (5, 960, 160, True, 'HS', 1), (5, 960, 160, True, 'HS', 1),
]
_MNV3_SMALL = [
    (3, 16, 16, True, 'RE', 2), (3, 72, 24, False, 'RE', 2), (3, 88, 24, False, 'RE', 1),
    (5, 96, 40, True, 'HS', 2), (5, 240, 40, True, 'HS', 1), (5, 240, 40, True, 'HS', 1),
    (5, 120, 48, True, 'HS', 1), (5, 144, 48, True, 'HS', 1),
    (5, 288, 96, True, 'HS', 2), (5, 576, 96, True, 'HS', 1), (5, 576, 96, True, 'HS', 1),
]


class MobileNetV3(StemBlocksHead):
    def __init__(self, c):
        super().__init__()
        self.channels_last = c['channelsLast']
        width = lambda ch: make_divisible(ch * c['widthMultiplier'])
        rows = _MNV3_LARGE if c['variant'] == 'large' else _MNV3_SMALL
        in_c = width(16)
        self.stem = ConvNormAct(3, in_c, 3, 'hardswish', 0, stride=2)
        blocks, stage, previous = [], 0, -1
        for i, (kernel, expanded, out, se, act, stride) in enumerate(rows):
            out_c, mid_c = width(out), width(expanded)
            if out_c != previous:
                stage += 1
            previous = out_c
            blocks.append(MBConv(in_c, mid_c, out_c, kernel, stride, 'relu' if act == 'RE' else 'hardswish',
                                 make_divisible(mid_c / 4) if se else 0, 'relu', 'hardsigmoid', c['dropPath'] * i / len(rows), stage))
            in_c = out_c
        self.blocks = nn.ModuleList(blocks)
        self.feature_dim = width(960 if c['variant'] == 'large' else 576)
        self.head = ConvNormAct(in_c, self.feature_dim, 1, 'hardswish', stage + 1)
        self._register_norms()


class BasicBlock(nn.Module):
    def __init__(self, in_c, out_c, stride, stage):
        super().__init__()
        self.conv1 = ConvNormAct(in_c, out_c, 3, 'relu', stage, stride=stride)
        self.conv2 = ConvNormAct(out_c, out_c, 3, 'none', stage)
        self.shortcut = None if stride == 1 and in_c == out_c else ConvNormAct(in_c, out_c, 1, 'none', stage, stride=stride)

    def forward(self, x, overrides=None):
        branch = self.conv2(self.conv1(x, overrides), overrides)
        identity = x if self.shortcut is None else self.shortcut(x, overrides)
        return torch.relu(branch + identity)


class ResNet(StemBlocksHead):
    def __init__(self, c):
        super().__init__()
        self.channels_last = c['channelsLast']
        width = lambda ch: make_divisible(ch * c['widthMultiplier'])
        in_c = width(c['stemChannels'])
        self.stem = ConvNormAct(3, in_c, 3, 'relu', 0, stride=c['stemStride'])
        blocks = []
        for stage_index, s in enumerate(c['stages']):
            out_c = width(s['channels'])
            for b in range(s['blocks']):
                blocks.append(BasicBlock(in_c, out_c, s['stride'] if b == 0 else 1, stage_index + 1))
                in_c = out_c
        self.blocks = nn.ModuleList(blocks)
        self.feature_dim = width(c['headChannels'])
        self.head = ConvNormAct(in_c, self.feature_dim, 1, 'relu', len(c['stages']) + 1)
        self._register_norms()


IMAGE_FAMILIES = {'efficientnet': EfficientNet, 'mobilenetv3': MobileNetV3, 'resnet': ResNet}


# ---- transformer, text encoder, hypernetwork: src/models/transformer.ts, text/text-encoder.ts, hypernet.ts ----

class MultiHeadAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.width, self.heads, self.head_dim = width, heads, width // heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x, mask):
        b, t, _ = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)  # [3, B, H, T, Dh]
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q.matmul(k.transpose(-2, -1)) * (1 / math.sqrt(self.head_dim))
        if mask is not None:
            scores = scores + mask
        attended = F.softmax(scores, -1).matmul(v)  # [B, H, T, Dh]
        return self.out(attended.transpose(1, 2).reshape(b, t, self.width))


class TransformerBlock(nn.Module):
    def __init__(self, width, heads, mlp_ratio):
        super().__init__()
        hidden = round_half_up(width * mlp_ratio)
        self.norm1 = nn.LayerNorm(width, eps=1e-5)
        self.attention = MultiHeadAttention(width, heads)
        self.norm2 = nn.LayerNorm(width, eps=1e-5)
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x, mask):
        h = x + self.attention(self.norm1(x), mask)
        return h + self.fc2(F.gelu(self.fc1(self.norm2(h))))


def round_half_up(v):
    """JavaScript's Math.round (python's round() rounds half to even)."""
    return int(math.floor(v + 0.5))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, mlp_ratio):
        super().__init__()
        self.blocks = nn.ModuleList([TransformerBlock(width, heads, mlp_ratio) for _ in range(layers)])

    def forward(self, x, mask):
        for block in self.blocks:
            x = block(x, mask)
        return x


def l2_normalize(x, dim=-1, eps=1e-12):
    return x / x.norm(2, dim, keepdim=True).clamp(min=eps)


class TextEncoder(nn.Module):
    def __init__(self, c, embed_dim):
        super().__init__()
        self.config = c
        self.tokenEmbedding = nn.Embedding(c['vocabSize'], c['width'])
        self.positionEmbedding = nn.Parameter(torch.zeros(c['contextLength'], c['width']))
        self.transformer = Transformer(c['width'], c['layers'], c['heads'], c['mlpRatio'])
        self.finalNorm = nn.LayerNorm(c['width'], eps=1e-5)
        self.projection = nn.Linear(c['width'], embed_dim, bias=False)

    def forward(self, ids):
        b = ids.shape[0]
        ends = (ids == self.config['endTokenId']).float().argmax(1)  # [B], first end token (0 when none)
        used = int(ends.max().item()) + 1
        if used < ids.shape[1]:
            # Columns after the batch's last end token cannot reach the pooled position (causal mask).
            ids = ids[:, :used]
        t = ids.shape[1]
        x = self.tokenEmbedding(ids) + self.positionEmbedding[:t]
        mask = torch.full((t, t), float('-inf')).triu(1)
        x = self.finalNorm(self.transformer(x, mask))
        pooled = x.gather(1, ends.reshape(b, 1, 1).expand(b, 1, x.shape[2])).squeeze(1)  # [B, W]
        return self.projection(pooled)


def select_norm_layers(layers, selection):
    if selection == 'all':
        return layers
    last = max(stage for _, _, stage in layers)
    return [l for l in layers if l[2] > last - selection['lastStages']]


class Hypernetwork(nn.Module):
    def __init__(self, c, embed_dim, norm_layers):
        super().__init__()
        self.config = c
        self.targets = select_norm_layers(norm_layers, c['normLayers'])
        text_input = c['input'] == 'text'
        self.inputProjection = nn.Linear(embed_dim, c['width']) if text_input else None
        self.learnedTokens = None if text_input else nn.Parameter(torch.zeros(c['learnedTokens'], c['width']))
        self.mixer = Transformer(c['width'], c['layers'], c['heads'], c['mlpRatio'])
        self.finalNorm = nn.LayerNorm(c['width'], eps=1e-5)
        self.head = nn.Linear(c['width'], 2 * sum(ch for _, ch, _ in self.targets))

    def forward(self, text_embeddings):  # [G, S, E] -> {name: (scale delta [G, C], shift delta [G, C])}
        if self.inputProjection is not None:
            tokens = self.inputProjection(l2_normalize(text_embeddings, -1))
        else:
            g = text_embeddings.shape[0]
            tokens = self.learnedTokens.unsqueeze(0).expand(g, *self.learnedTokens.shape)
        pooled = self.finalNorm(self.mixer(tokens, None)).mean(1)  # [G, W]
        out = self.head(pooled) * self.config['outputScale']
        deltas, offset = {}, 0
        for name, channels, _ in self.targets:
            deltas[name] = (out[:, offset:offset + channels], out[:, offset + channels:offset + 2 * channels])
            offset += 2 * channels
        return deltas


# ---- the model and its losses: src/models/hyperclip.ts, losses.ts ----

def siglip_loss(images, texts, logit_scale, logit_bias, pair_mask=None):
    n = images.shape[0]
    logits = images.matmul(texts.t()) * logit_scale.exp() + logit_bias
    signs = torch.eye(n) * 2 - 1
    terms = F.logsigmoid(logits * signs)
    if pair_mask is not None:
        terms = terms * pair_mask
    return -terms.sum() / n


def clip_loss(images, texts, logit_scale, pair_mask=None):
    n = images.shape[0]
    logits = images.matmul(texts.t()) * logit_scale.clamp(max=math.log(100)).exp()
    if pair_mask is not None:
        logits = logits.masked_fill(pair_mask == 0, float('-inf'))
    targets = torch.arange(n)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets)) / 2


def same_group_mask(n, group_size):
    group = torch.div(torch.arange(n), group_size, rounding_mode='floor')
    return (group.unsqueeze(1) == group.unsqueeze(0)).float()


class HyperClip(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        image = config['image']
        self.imageEncoder = IMAGE_FAMILIES[image['family']](image)
        self.imageProjection = nn.Linear(self.imageEncoder.feature_dim, config['embedDim'], bias=False)
        self.textEncoder = TextEncoder(config['text'], config['embedDim'])
        self.hypernet = None if config['hypernet'] is None else Hypernetwork(config['hypernet'], config['embedDim'], self.imageEncoder.norm_layers)
        self.logitScale = nn.Parameter(torch.tensor(float(config['loss']['logitScaleInit'])))
        self.logitBias = nn.Parameter(torch.tensor(float(config['loss']['logitBiasInit'])))
        self._norms = {f'{path}.norm': m.norm for path, m in self.imageEncoder.named_modules() if isinstance(m, ConvNormAct)}

    def generate_norm_params(self, text_embeddings):  # [G, S, E] -> {name: (scale [G, C], shift [G, C])}
        return {name: (ds + self._norms[name].weight, db + self._norms[name].bias)
                for name, (ds, db) in self.hypernet(text_embeddings).items()}

    def encode_image(self, images, norm_params=None):
        overrides = None
        if norm_params is not None:
            n = images.shape[0]
            overrides = {}
            for name, (scale, shift) in norm_params.items():
                tasks, channels = scale.shape
                if tasks in (1, n):
                    overrides[name] = (scale, shift)
                else:
                    # [G, C] task rows -> [N, C]: G consecutive blocks of N / G samples.
                    expand = lambda t: t.unsqueeze(1).expand(tasks, n // tasks, channels).reshape(n, channels)
                    overrides[name] = (expand(scale), expand(shift))
        return self.imageProjection(self.imageEncoder(images, overrides))

    def training_loss(self, images, ids, group_size=None):
        if group_size is None:
            group_size = self.config['hypernet']['groupSize'] if self.config['hypernet'] is not None else 1
        batch = images.shape[0]
        if batch % group_size != 0:
            raise ValueError(f'batch size {batch} is not divisible by the task group size {group_size}')
        text = l2_normalize(self.textEncoder(ids), -1)  # [B, E]
        norm_params = None if self.hypernet is None else \
            self.generate_norm_params(text.reshape(batch // group_size, group_size, self.config['embedDim']))
        image = l2_normalize(self.encode_image(images, norm_params), -1)
        mask = same_group_mask(batch, group_size) if self.config['loss']['span'] == 'group' else None
        if self.config['loss']['kind'] == 'siglip':
            return siglip_loss(image, text, self.logitScale, self.logitBias, mask)
        return clip_loss(image, text, self.logitScale, mask)

    def our_state_dict(self):
        """Parameters and buffers under our names (torch's own state_dict has the same keys here)."""
        return dict(self.state_dict())

    def load_ours(self, tensors):
        """Strict load: every key of the model in the file, every key of the file in the model, shapes equal."""
        own = self.state_dict()
        problems = [f'missing {k}' for k in own if k not in tensors]
        problems += [f'unexpected {k}' for k in tensors if k not in own]
        problems += [f'{k}: file {list(tensors[k].shape)} model {list(own[k].shape)}'
                     for k in own if k in tensors and tensors[k].shape != own[k].shape]
        if problems:
            raise ValueError('state dict does not match the model: ' + '; '.join(problems[:8]) +
                             (f'; and {len(problems) - 8} more' if len(problems) > 8 else ''))
        with torch.no_grad():
            for k, t in own.items():
                t.copy_(tensors[k].to(t.dtype))
        if self.config['image']['channelsLast']:
            # As convertWeightsToChannelsLast: 4-d weights live channels-last, so convs need no layout change.
            for m in self.imageEncoder.modules():
                if isinstance(m, nn.Conv2d):
                    m.weight.data = m.weight.data.contiguous(memory_format=torch.channels_last)


def weight_decay_groups(model, weight_decay):
    """As src/train/param-groups.ts: decay on tensors with >= 2 dims only."""
    decay = [p for _, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for _, p in model.named_parameters() if p.dim() < 2]
    return [{'params': decay, 'weight_decay': weight_decay}, {'params': no_decay, 'weight_decay': 0.0}]
