/**
 * The template for elementwise binary ops with multidirectional broadcasting (Add, Mul): both
 * inputs share one dtype, which the output keeps.
 *
 * GPU: one invocation per output element (src/shaders/elementwise.ts); the broadcast is a
 * strided read of each input with stride 0 along broadcast dims, after collapsing dims that
 * are contiguous for both inputs (equal shapes become one flat dim, a per-channel
 * [1, C, 1, 1] operand of [N, C, H, W] three dims). Compiled in: op, dtype, workgroup size.
 *
 * @module
 */

import {
  type DType,
  makeTensor,
  type Node,
  sizeOf,
  type Tensor,
  type TensorType,
} from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
  storeFor,
} from "../shaders/elementwise.ts";
import {
  BINARY_STRIDED_PARAMS,
  binaryStridedUniforms,
  collapseDims,
  stridedOffset,
  stridedOffsetsFn,
} from "../shaders/strided.ts";
import { nodeLabel, requireInputs, requireOutputs, requireSameDtype } from "./attributes.ts";
import { broadcastShape, broadcastStrides } from "./broadcast.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";

/** What distinguishes one binary op from another. */
export interface BinaryOpSpec {
  /** Op type, e.g. `"Add"`. */
  op: string;
  /** Input dtypes the op accepts (32-bit types only). */
  dtypes: readonly ("f32" | "i32")[];
  /** The WGSL infix operator, e.g. `+`. */
  wgslOperator: string;
  /** The same operation on host numbers; the result is stored into the output dtype. */
  apply: (a: number, b: number) => number;
}

/** Builds the OpDef of a broadcasting binary op from its spec. */
export function binaryOp(spec: BinaryOpSpec): OpDef {
  const { op, dtypes } = spec;

  function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
    const [a, b] = requireInputs(node, inputs, 2, dtypes);
    requireSameDtype(node, [a, b]);
    requireOutputs(node, 1);
    return [{ dtype: a.dtype, shape: broadcastShape(node, a.shape, b.shape) }];
  }

  function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
    const [a, b] = inputs as Tensor[];
    const shape = broadcastShape(node, a.shape, b.shape);
    const sa = broadcastStrides(a.shape, shape);
    const sb = broadcastStrides(b.shape, shape);
    const y = makeTensor(a.dtype, shape);
    for (let i = 0; i < y.data.length; i++) {
      y.data[i] = spec.apply(
        a.data[stridedOffset(i, shape, sa)],
        b.data[stridedOffset(i, shape, sb)],
      );
    }
    return [y];
  }

  function wgsl(dtype: DType): string {
    return /* wgsl */ `
@group(0) @binding(0) var<storage, read> lhs: array<${dtype}>;
@group(0) @binding(1) var<storage, read> rhs: array<${dtype}>;
${BINARY_STRIDED_PARAMS}
@group(0) @binding(3) var<uniform> params: Params;
${
      stridedOffsetsFn("offsets", "params.rank", "params.dims", [
        "params.a_strides",
        "params.b_strides",
      ])
    }
fn value_at(i: u32) -> ${dtype} {
  let o = offsets(i);
  return lhs[o[0]] ${spec.wgslOperator} rhs[o[1]];
}
${elementwiseMain(storeFor(dtype), 2)}`;
  }

  function gpu(ctx: GpuPlanContext): GpuPlan {
    const [a, b] = ctx.inputs as TensorType[];
    const out = ctx.outputs[0];
    const length = sizeOf(out.shape);
    const { dims, strides } = collapseDims(out.shape, [
      broadcastStrides(a.shape, out.shape),
      broadcastStrides(b.shape, out.shape),
    ]);
    const owner = nodeLabel(ctx.node);
    return {
      programs: [{
        key: `${op.toLowerCase()}_${out.dtype}_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
        wgsl: () => wgsl(out.dtype),
        bindings: [
          { kind: "input", index: 0 },
          { kind: "input", index: 1 },
          { kind: "output", index: 0 },
        ],
        uniforms: binaryStridedUniforms(length, dims, [strides[0], strides[1]], owner),
        workgroups: elementwiseWorkgroups(storeFor(out.dtype), length, ctx.limits),
      }],
    };
  }

  return { op, inferTypes, reference, gpu };
}
