/**
 * Ops that are one strided gather of 32-bit words (Transpose, Slice): output element i reads
 * input element `base + sum(coord_d * stride_d)` over the output dims. Each op supplies only
 * its gather; type inference, the reference and the GPU kernel are shared.
 *
 * GPU: one invocation per output element (src/shaders/elementwise.ts) decomposes its index
 * over the output dims (src/shaders/strided.ts, after collapsing dims contiguous in the
 * input). Negative strides sit in the u32 uniforms as two's complement and the u32 sums wrap
 * modulo 2^32 to the right non-negative offset. The kernel moves 32-bit words, so one
 * pipeline serves f32 and i32 and both ops. Compiled in: workgroup size only.
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
} from "../shaders/elementwise.ts";
import {
  collapseDims,
  STRIDED_FIELD,
  stridedOffset,
  stridedOffsetsFn,
  stridedWords,
} from "../shaders/strided.ts";
import { nodeLabel, requireInputs, requireOutputs } from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";

/** Output dims, the input stride each walks (may be negative), and the first element read. */
export interface StridedGather {
  /** Output dims. */
  dims: number[];
  /** Input element stride per output dim. */
  strides: number[];
  /** Input element offset of output element 0. */
  base: number;
}

function wgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
struct Params {
  length: u32, rank: u32, base: u32, _pad0: u32,
  dims: ${STRIDED_FIELD}, strides: ${STRIDED_FIELD},
}
@group(0) @binding(2) var<uniform> params: Params;
${stridedOffsetsFn("offsets", "params.rank", "params.dims", ["params.strides"])}

fn value_at(i: u32) -> u32 {
  return x[params.base + offsets(i)[0]];
}
${elementwiseMain("u32", 1)}`;
}

/** An f32/i32 op defined by `gather(node, inputShape)`. */
export function stridedGatherOp(
  op: string,
  gather: (node: Node, shape: readonly number[]) => StridedGather,
): OpDef {
  return {
    op,
    inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
      const [x] = requireInputs(node, inputs, 1, ["f32", "i32"]);
      requireOutputs(node, 1);
      return [{ dtype: x.dtype, shape: gather(node, x.shape).dims }];
    },
    reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
      const x = inputs[0]!;
      const { dims, strides, base } = gather(node, x.shape);
      const y = makeTensor(x.dtype, dims);
      for (let i = 0; i < y.data.length; i++) {
        y.data[i] = x.data[base + stridedOffset(i, dims, strides)];
      }
      return [y];
    },
    gpu(ctx: GpuPlanContext): GpuPlan {
      const g = gather(ctx.node, ctx.inputs[0]!.shape);
      const { dims, strides } = collapseDims(g.dims, [g.strides]);
      const length = sizeOf(g.dims);
      const owner = nodeLabel(ctx.node);
      return {
        programs: [{
          key: `strided_gather_b32_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
          wgsl,
          bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
          uniforms: new Uint32Array([
            length,
            dims.length,
            g.base,
            0,
            ...stridedWords(dims, owner),
            ...stridedWords(strides[0], owner),
          ]),
          workgroups: elementwiseWorkgroups("u32", length, ctx.limits),
        }],
      };
    },
  };
}
