/**
 * The template for view ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity): output 0 is
 * input 0's data, of any dtype, under a new shape. They have no GPU kernel (`view: true`:
 * the executors alias the input's buffer); the reference copies the data.
 *
 * @module
 */

import {
  DTYPES,
  makeTensor,
  type Node,
  sizeOf,
  type Tensor,
  type TensorType,
} from "../graph/types.ts";
import { nodeLabel, requireInputs, requireOutputs } from "./attributes.ts";
import type { OpDef } from "./op.ts";

/**
 * Builds the OpDef of view op `op`, whose output shape `outputShape` derives from the node
 * and the input shape (validating the node's attributes, throwing errors that name it).
 */
export function viewOp(
  op: string,
  outputShape: (node: Node, shape: readonly number[]) => number[],
): OpDef {
  function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
    const [x] = requireInputs(node, inputs, 1, DTYPES);
    requireOutputs(node, 1);
    const shape = outputShape(node, x.shape);
    if (sizeOf(shape) !== sizeOf(x.shape)) {
      throw new Error(
        `${nodeLabel(node)}: output shape [${shape}] does not hold the ${sizeOf(x.shape)} ` +
          `elements of input shape [${x.shape}]`,
      );
    }
    return [{ dtype: x.dtype, shape, ...(x.quant && { quant: x.quant }) }];
  }

  function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
    const x = inputs[0]!;
    const y = makeTensor(x.dtype, inferTypes(node, [x])[0].shape, x.data);
    return [{ ...y, ...(x.quant && { quant: x.quant }) }];
  }

  return { op, inferTypes, reference, view: true };
}
