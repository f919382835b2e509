// Text -> normalised embeddings through a bundle's tokenizer and text encoder.
import { F, noGrad, tensor, tidy, type Tensor } from '../engine/index.js';
import type { Tokenizer } from '../data/tokenizer/index.js';
import type { HyperClip } from '../models/index.js';

/** Token ids int64 [N, T] for a list of texts. */
export function tokenize(tokenizer: Tokenizer, texts: readonly string[]): Tensor {
  const { ids, n, contextLength } = tokenizer.encodeBatch(texts);
  return tensor(BigInt64Array.from(ids, (v) => BigInt(v)), [n, contextLength], { dtype: 'int64' });
}

/** L2-normalised text embeddings [N, E], computed in chunks without gradients. */
export function encodeTexts(model: HyperClip, tokenizer: Tokenizer, texts: readonly string[], chunk = 512): Tensor {
  if (texts.length === 0) throw new Error('no texts to encode');
  return noGrad(() => {
    const parts: Tensor[] = [];
    for (let i = 0; i < texts.length; i += chunk) {
      parts.push(tidy(() => F.normalize(model.encodeText(tokenize(tokenizer, texts.slice(i, i + chunk))), -1)));
    }
    if (parts.length === 1) return parts[0]!;
    const all = F.cat(parts, 0);
    for (const p of parts) p.dispose();
    return all;
  });
}
