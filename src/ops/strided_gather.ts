/**
 * Ops that are one strided gather of 32-bit words (Transpose, Slice): output element i reads
 * input element `base + sum(coord_d * stride_d)` over the output dims. Each op supplies only
 * its gather; type inference, the reference and the GPU kernel are shared.
 *
 * CPU: `cpu` walks the collapsed output dims with an odometer (no division per element) and
 * copies each innermost run with one `set` where it is contiguous in the input (ShuffleNetV2's
 * channel shuffles: 16 Transposes 12.6 -> 0.4 ms).
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

/**
 * Writes the gather `g` of `x` into `y` (non-empty): an odometer over the collapsed outer
 * dims, and per innermost run one `set` (input stride 1) or a strided loop.
 */
function gatherRuns(x: Tensor["data"], y: Tensor["data"], g: StridedGather): void {
  const collapsed = collapseDims(g.dims, [g.strides]);
  const dims = collapsed.dims.length > 0 ? collapsed.dims : [1];
  const strides = collapsed.strides[0].length > 0 ? collapsed.strides[0] : [1];
  const rank = dims.length;
  const inner = dims[rank - 1], step = strides[rank - 1];
  const at = new Array<number>(rank - 1).fill(0);
  let src = g.base;
  for (let dst = 0; dst < y.length; dst += inner) {
    if (step === 1) y.set(x.subarray(src, src + inner), dst);
    else for (let k = 0; k < inner; k++) y[dst + k] = x[src + k * step];
    for (let d = rank - 2; d >= 0; d--) {
      src += strides[d];
      if (++at[d] < dims[d]) break;
      src -= strides[d] * dims[d];
      at[d] = 0;
    }
  }
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
    cpu(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
      const x = inputs[0]!;
      const g = gather(node, x.shape);
      const y = makeTensor(x.dtype, g.dims);
      if (y.data.length > 0) gatherRuns(x.data, y.data, g);
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
