/**
 * Cast between f32 and i32/u8/i8 (either direction; f32 to f32 copies), attribute `to` as a
 * resin dtype string. ONNX semantics:
 * - float to integer truncates toward zero. ONNX (opset 13) leaves out-of-range values
 *   unspecified; resin saturates them to the target range (+-Infinity included) and maps
 *   NaN to 0, identically on every path.
 * - integer to f32 rounds to the nearest f32 (ties to even), which matters above 2^24.
 * Casts between two integer types are rejected (ONNX would wrap; resin has no use for them).
 *
 * GPU: one invocation per output element (per four for 8-bit outputs); packed 8-bit inputs
 * are unpacked in the kernel. Compiled in: source and target dtype, workgroup size.
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
  storeFor,
  valueType,
} from "../shaders/elementwise.ts";
import { packed8Load } from "../shaders/packed8.ts";
import { nodeLabel, requireInputs, requireOutputs, stringAttr } from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";

/** The dtypes Cast handles. */
const CAST_DTYPES = ["f32", "i32", "u8", "i8"] as const;
type CastDType = typeof CAST_DTYPES[number];

/** Integer ranges that float-to-integer casts saturate to. */
const RANGES: Record<Exclude<CastDType, "f32">, [number, number]> = {
  i32: [-(2 ** 31), 2 ** 31 - 1],
  u8: [0, 255],
  i8: [-128, 127],
};

function castTypes(node: Node, x: TensorType): { from: CastDType; to: CastDType } {
  const from = x.dtype as CastDType;
  const to = stringAttr(node, "to", CAST_DTYPES);
  if (from !== "f32" && to !== "f32") {
    throw new Error(
      `${nodeLabel(node)}: casts between integer types (${from} to ${to}) are not supported; ` +
        `cast to or from f32`,
    );
  }
  return { from, to };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const [x] = requireInputs(node, inputs, 1, CAST_DTYPES);
  requireOutputs(node, 1);
  const { to } = castTypes(node, x);
  return [{ dtype: to, shape: [...x.shape] }];
}

/** One element cast to `to`; storing it in the output's typed array rounds integers to f32. */
function castValue(v: number, to: CastDType): number {
  if (to === "f32") return v;
  if (Number.isNaN(v)) return 0;
  const [lo, hi] = RANGES[to];
  return Math.min(Math.max(Math.trunc(v), lo), hi);
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const { to } = castTypes(node, x);
  const y = makeTensor(to, x.shape);
  for (let i = 0; i < x.data.length; i++) y.data[i] = castValue(x.data[i], to);
  return [y];
}

/** WGSL `fn convert(v: f32) -> i32`: truncation, saturation to `to`'s range, NaN to 0. */
function floatToInt(to: Exclude<CastDType, "f32">): string {
  const [lo, hi] = RANGES[to];
  // i32's top is not an f32: clamp below 2^31 (to 2^31 - 128) and map >= 2^31 to the max.
  const top = to === "i32" ? "if (v >= 2147483648.0) { return 2147483647; }" : "";
  const clampHi = to === "i32" ? "2147483520.0" : `${hi}.0`;
  // NaN is tested on the bits: WGSL lets compilers assume floats are never NaN.
  return /* wgsl */ `
fn convert(v: f32) -> i32 {
  if ((bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u) { return 0; }
  ${top}
  return i32(clamp(v, ${lo}.0, ${clampHi}));
}`;
}

function wgsl(from: CastDType, to: CastDType): string {
  const packedIn = from === "u8" || from === "i8";
  const load = packedIn ? "load_x(i)" : "x[i]";
  const convert = to === "f32"
    ? (from === "f32" ? "" : "fn convert(v: i32) -> f32 { return f32(v); }")
    : floatToInt(to);
  const store = storeFor(to);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<${packedIn ? "u32" : from}>;
struct Params { length: u32 }
@group(0) @binding(2) var<uniform> params: Params;
${packedIn ? packed8Load("x", from) : ""}
${convert}

fn value_at(i: u32) -> ${valueType(store)} {
  return ${from === to ? load : `convert(${load})`};
}
${elementwiseMain(store, 1)}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const { from, to } = castTypes(ctx.node, ctx.inputs[0]!);
  const length = sizeOf(ctx.outputs[0].shape);
  return {
    programs: [{
      key: `cast_${from}_${to}_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl: () => wgsl(from, to),
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: new Uint32Array([length]),
      workgroups: elementwiseWorkgroups(storeFor(to), length, ctx.limits),
    }],
  };
}

/** Cast between f32 and i32/u8/i8. */
export const cast: OpDef = { op: "Cast", inferTypes, reference, gpu };
