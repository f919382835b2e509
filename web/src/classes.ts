// The class list as a person types it: one name per line, or separated by
// commas; checked once, by the same check as `hyperclip generate`, and handed
// to generation as checked.
import { CheckedClassNames } from 'hyperclip/web';

export const MAX_CLASSES = 10_000;

export function parseClassList(text: string): CheckedClassNames {
  const names = text.split(/[\n,]/).map((n) => n.trim()).filter((n) => n !== '');
  if (names.length === 0) throw new Error('No classes: type at least one class name (one per line, or separated by commas).');
  if (names.length > MAX_CLASSES) throw new Error(`${names.length} classes is more than this page handles (${MAX_CLASSES}); use \`hyperclip generate\` for larger lists.`);
  return CheckedClassNames.check(names, 'class list');
}
