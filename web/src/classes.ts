// The class list as a person types it: one name per line, or separated by
// commas; checked with the same rules as `hyperclip generate`.
import { checkClassnames } from 'hyperclip/web';

export const MAX_CLASSES = 10_000;

export function parseClassList(text: string): string[] {
  const names = text.split(/[\n,]/).map((n) => n.trim()).filter((n) => n !== '');
  if (names.length === 0) throw new Error('No classes: type at least one class name (one per line, or separated by commas).');
  if (names.length > MAX_CLASSES) throw new Error(`${names.length} classes is more than this page handles (${MAX_CLASSES}); use \`hyperclip generate\` for larger lists.`);
  try {
    return checkClassnames(names, 'class list');
  } catch (err) {
    throw new Error(`${(err as Error).message}: each class may appear only once (letter case is ignored).`);
  }
}
