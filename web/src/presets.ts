// Ready-made class lists. CIFAR-10's short list is written here; CIFAR-100's
// is read from the data folder when the page is built (absent without it).
import { CIFAR100 } from 'virtual:hyperclip-presets';

export interface Preset {
  id: string;
  label: string;
  classes: string[];
}

const CIFAR10 = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export const PRESETS: Preset[] = [
  { id: 'cifar10', label: 'CIFAR-10 (10 classes)', classes: CIFAR10 },
  ...(CIFAR100 === null ? [] : [{ id: 'cifar100', label: `CIFAR-100 (${CIFAR100.length} classes)`, classes: CIFAR100 }]),
];
