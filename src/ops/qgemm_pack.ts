/**
 * Conversion-time packing of QLinearMatMul (2-D) and QGemm (no transA, C per column) into the
 * operands of QGemmPacked (qgemm_packed.ts): weights as i8 rows [N, Kp] (u8 weights and zero
 * points shifted by -128), K padded with the weight zero point, and the zero points folded
 * into B as in qlinear_conv_pack.ts: B[n] = C[n] + (o - a_zp)(sum_k W[n, k] - Kp z'[n]).
 *
 * @module
 */

import { type Attributes, makeTensor, type Node, type Tensor } from "../graph/types.ts";
import { nodeLabel } from "./attributes.ts";
import { qgemmGeometry } from "./qgemm.ts";
import { f32, outputScale } from "./quant_math.ts";
import { channelValue, scalarValue } from "./qlinear_operands.ts";

/** The packed operands and attributes of a QGemmPacked. */
export interface PackedGemm {
  weights: Tensor;
  bias: Tensor;
  scale: Tensor;
  zeroPoints?: Tensor;
  attrs: Attributes;
}

/** Packs `b(k, n)` (K x N, any layout) with its per-column zero point and scales. */
function pack(
  k: number,
  n: number,
  b: Tensor,
  at: (k: number, n: number) => number,
  zeroPoint: (n: number) => number,
  columnBias: (n: number) => number,
  scaleOf: (n: number) => number,
  a: Tensor,
  aZero: number,
): Omit<PackedGemm, "attrs"> {
  const kp = Math.ceil(k / 4) * 4;
  const shift = b.dtype === "u8" ? 128 : 0;
  const offset = a.dtype === "u8" ? 128 : 0;
  const weights = makeTensor("i8", [n, kp]);
  const bias = makeTensor("i32", [n]);
  const scale = makeTensor("f32", [n]);
  const zps = makeTensor("i32", [n]);
  for (let j = 0; j < n; j++) {
    const z = zeroPoint(j) - shift;
    let sum = 0;
    for (let p = 0; p < kp; p++) {
      const v = p < k ? at(p, j) - shift : z;
      weights.data[j * kp + p] = v;
      sum += v;
    }
    bias.data[j] = columnBias(j) + (offset - aZero) * (sum - kp * z);
    scale.data[j] = scaleOf(j);
    zps.data[j] = z;
  }
  return { weights, bias, scale, ...(zps.data.some((v) => v !== 0) && { zeroPoints: zps }) };
}

/** Packs a 2-D QLinearMatMul's constant B and parameters (inputs in QLinearMatMul order). */
export function packQLinearMatMul(node: Node, inputs: readonly (Tensor | undefined)[]): PackedGemm {
  const [a, as, az, b, bs, bz, ys, yz] = inputs as Tensor[];
  if (a.shape.length !== 2 || b.shape.length !== 2) {
    throw new Error(`${nodeLabel(node)}: only 2-D QLinearMatMul is packed for the GPU`);
  }
  const [k, n] = b.shape;
  const packed = pack(
    k,
    n,
    b,
    (p, j) => b.data[p * n + j],
    (j) => channelValue(bz, j),
    () => 0,
    (j) => outputScale(scalarValue(as), channelValue(bs, j), scalarValue(ys)),
    a,
    scalarValue(az),
  );
  return { ...packed, attrs: { a_pad: scalarValue(az), y_zero_point: scalarValue(yz) } };
}

/** Packs a QGemm's constant B, C and parameters (inputs in QGemm order). */
export function packQGemm(node: Node, inputs: readonly (Tensor | undefined)[]): PackedGemm {
  const g = qgemmGeometry(node, inputs);
  const [a, as, az, b, bs, bz, c, ys, yz] = inputs;
  if (g.transA) throw new Error(`${nodeLabel(node)}: QGemm with transA is not packed for the GPU`);
  if (c && c.shape.length === 2 && c.shape[0] !== 1) {
    throw new Error(
      `${nodeLabel(node)}: only a per-column C is packed for the GPU, got [${c.shape}]`,
    );
  }
  const base = f32(g.alpha * scalarValue(as));
  const packed = pack(
    g.k,
    g.n,
    b!,
    (p, j) => b!.data[g.transB ? j * g.k + p : p * g.n + j],
    (j) => channelValue(bz, j),
    (j) => (c ? c.data[c.data.length === 1 ? 0 : j] : 0),
    (j) => {
      const s = f32(base * channelValue(bs, j));
      return ys ? f32(s / scalarValue(ys)) : s;
    },
    a!,
    scalarValue(az),
  );
  const attrs: Attributes = { a_pad: scalarValue(az) };
  if (ys) attrs.y_zero_point = scalarValue(yz);
  return { ...packed, attrs };
}
