// Names of the inputs and outputs of the exported generator and encoder,
// shared by the exporter (libtorch side) and the runtime side.
export const CLASS_EMBEDDINGS = 'class_embeddings';
export const IMAGE_EMBEDDINGS = 'image_embeddings';
export const scaleInput = (layer: string): string => `${layer}.scale`;
export const shiftInput = (layer: string): string => `${layer}.shift`;
