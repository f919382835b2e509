/// <reference types="vite/client" />

declare module 'virtual:hyperclip-presets' {
  /** CIFAR-100 class names (underscores as spaces), or null when the data folder was absent at build time. */
  export const CIFAR100: string[] | null;
}

interface ImportMetaEnv {
  /** Where the model folder is served, when not ./model/ (build-time). */
  readonly VITE_MODEL_URL?: string;
}
