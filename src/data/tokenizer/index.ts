export { Tokenizer } from './tokenizer.js';
export { BpeTokenizer } from './bpe-tokenizer.js';
export { trainBpe, countWords, type TrainBpeOptions } from './train-bpe.js';
export {
  saveTokenizer, readTokenizerFile, resolveTokenizerPath, validateTokenizerFile, serializeTokenizerFile,
  TOKENIZER_DIR, type TokenizerFile,
} from './tokenizer-file.js';
export { cleanText, pretokenize } from './clean-text.js';
export { PAD_ID, START_ID, END_ID, PAD_TOKEN, START_TOKEN, END_TOKEN } from './vocabulary.js';
export { loadWordPrior, saveWordPrior, readWordPrior, priorPathFor, wholeWordOf, findEmbeddingsFile, WORD_PRIOR_PACKAGE, type WordPrior } from './word-prior.js';
