// The ONNX protobuf schema, from the onnx-proto package (protobufjs static
// code generated from onnx.proto). The only file that imports it, so that a
// change of schema package touches one place.
import onnxProto from 'onnx-proto';
import type { DType } from '../../engine/dtype.js';

export const onnx = onnxProto.onnx;
export type ModelProto = onnxProto.onnx.IModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

const ELEMENT_TYPES: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  float16: onnx.TensorProto.DataType.FLOAT16,
  bfloat16: onnx.TensorProto.DataType.BFLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  uint8: onnx.TensorProto.DataType.UINT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** The ONNX TensorProto.DataType code of an engine dtype. */
export const onnxElementType = (dtype: DType): number => ELEMENT_TYPES[dtype];

/** The engine dtype of an ONNX element type, or null for types the engine lacks. */
export function dtypeOfOnnx(code: number): DType | null {
  for (const [dtype, c] of Object.entries(ELEMENT_TYPES)) if (c === code) return dtype as DType;
  return null;
}
