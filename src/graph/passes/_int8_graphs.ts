/**
 * Test helper: small hand-made QOperator int8 graphs (the op mix of the int8 ResNets and
 * MobileNets, at odd sizes) with seeded weights and scales that keep the activations spread
 * over the 8-bit range.
 *
 * @module
 */

import { type DType, type Graph, makeTensor, type Node, type Tensor } from "../types.ts";
import { randomTensor, seededRandom } from "../../testing/random.ts";

/** Builds the graph step by step, inventing parameter values as it goes. */
export class Int8GraphBuilder {
  nodes: Node[] = [];
  initializers = new Map<string, Tensor>();
  #rand: () => number;
  /** Scale and zero point of each quantized value. */
  #quant = new Map<string, { scale: string; zero: string; value: number; dtype: DType }>();

  constructor(seed: number) {
    this.#rand = seededRandom(seed);
  }

  #const(name: string, t: Tensor): string {
    this.initializers.set(name, t);
    return name;
  }

  /** Records quantization parameters for value `v`. */
  #params(v: string, scale: number, zero: number, dtype: DType): void {
    this.#quant.set(v, {
      scale: this.#const(`${v}_scale`, makeTensor("f32", [], [Math.fround(scale)])),
      zero: this.#const(`${v}_zero`, makeTensor(dtype, [], [zero])),
      value: scale,
      dtype,
    });
  }

  /** QuantizeLinear of the f32 `x` with `scale` and `zero`. */
  quantize(x: string, out: string, scale: number, zero: number, dtype: DType = "u8"): string {
    this.#params(out, scale, zero, dtype);
    const q = this.#quant.get(out)!;
    this.nodes.push({
      name: out,
      op: "QuantizeLinear",
      inputs: [x, q.scale, q.zero],
      outputs: [out],
      attrs: {},
    });
    return out;
  }

  /** QLinearConv of `x` ([*, c, *, *]) to `m` channels with per-channel weight scales and a bias. */
  conv(x: string, out: string, c: number, m: number, attrs: Node["attrs"], group = 1): string {
    const q = this.#quant.get(x)!;
    const [kh, kw] = attrs.kernel_shape as number[];
    const k = (c / group) * kh * kw;
    const w = randomTensor(this.#rand, "i8", [m, c / group, kh, kw], -127, 128);
    const ws = Array.from({ length: m }, () => Math.fround(0.002 + 0.004 * this.#rand()));
    const wName = this.#const(`${out}_w`, w);
    const wsName = this.#const(`${out}_ws`, makeTensor("f32", [m], ws));
    const wzName = this.#const(`${out}_wz`, makeTensor("i8", [m]));
    const bias = this.#const(
      `${out}_b`,
      makeTensor(
        "i32",
        [m],
        Array.from({ length: m }, () => Math.floor((this.#rand() - 0.5) * 20000)),
      ),
    );
    // The accumulator spreads over about sqrt(K) * 40 * 74 (activations use ~40 levels).
    this.#params(
      out,
      q.value * 0.004 * Math.sqrt(k) * 40 * 74 / 40,
      20 + Math.floor(this.#rand() * 60),
      q.dtype,
    );
    const y = this.#quant.get(out)!;
    this.nodes.push({
      name: out,
      op: "QLinearConv",
      inputs: [x, q.scale, q.zero, wName, wsName, wzName, y.scale, y.zero, bias],
      outputs: [out],
      attrs: { ...attrs, group },
    });
    return out;
  }

  /** QLinearAdd of `a` and `b`. */
  add(a: string, b: string, out: string): string {
    const qa = this.#quant.get(a)!, qb = this.#quant.get(b)!;
    this.#params(out, Math.max(qa.value, qb.value) * 1.3, 60, qa.dtype);
    const y = this.#quant.get(out)!;
    this.nodes.push({
      name: out,
      op: "QLinearAdd",
      inputs: [a, qa.scale, qa.zero, b, qb.scale, qb.zero, y.scale, y.zero],
      outputs: [out],
      attrs: {},
    });
    return out;
  }

  /** An op that keeps the quantization of its input (MaxPool, Flatten, Reshape). */
  passThrough(op: string, x: string, out: string, attrs: Node["attrs"] = {}): string {
    const q = this.#quant.get(x)!;
    this.#quant.set(out, q);
    this.nodes.push({ name: out, op, inputs: [x], outputs: [out], attrs });
    return out;
  }

  /** QLinearGlobalAveragePool of `x`. */
  globalPool(x: string, out: string): string {
    const q = this.#quant.get(x)!;
    this.#params(out, q.value * 0.4, 5, q.dtype);
    const y = this.#quant.get(out)!;
    this.nodes.push({
      name: out,
      op: "QLinearGlobalAveragePool",
      inputs: [x, q.scale, q.zero, y.scale, y.zero],
      outputs: [out],
      attrs: {},
    });
    return out;
  }

  /** QLinearMatMul of the [*, k] value `a` with a random [k, n] weight. */
  matmul(a: string, out: string, k: number, n: number): string {
    const q = this.#quant.get(a)!;
    const w = this.#const(`${out}_w`, randomTensor(this.#rand, "i8", [k, n], -127, 128));
    const ws = this.#const(`${out}_ws`, makeTensor("f32", [], [0.004]));
    const wz = this.#const(`${out}_wz`, makeTensor("i8", []));
    this.#params(out, q.value * 0.004 * Math.sqrt(k) * 40 * 74 / 40, 100, q.dtype);
    const y = this.#quant.get(out)!;
    this.nodes.push({
      name: out,
      op: "QLinearMatMul",
      inputs: [a, q.scale, q.zero, w, ws, wz, y.scale, y.zero],
      outputs: [out],
      attrs: {},
    });
    return out;
  }

  /** DequantizeLinear of `x`. */
  dequantize(x: string, out: string): string {
    const q = this.#quant.get(x)!;
    this.nodes.push({
      name: out,
      op: "DequantizeLinear",
      inputs: [x, q.scale, q.zero],
      outputs: [out],
      attrs: {},
    });
    return out;
  }
}

/**
 * A ResNet-like int8 graph: input "x" f32 [N, 3, 11, 9]; Quantize, 3x3 conv, depthwise conv,
 * 1x1 conv with a residual QLinearAdd, MaxPool, strided 3x3 conv to 5 channels, global pool,
 * Flatten, QLinearMatMul, Dequantize to output "y" f32 [N, 7]; the depthwise conv's u8
 * output "mid" is a second graph output.
 */
export function int8ResidualGraph(seed = 1): Graph {
  const b = new Int8GraphBuilder(seed);
  const xq = b.quantize("x", "xq", 0.02, 128);
  const c1 = b.conv(xq, "c1", 3, 6, { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const mid = b.conv(c1, "mid", 6, 6, { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 6);
  const c3 = b.conv(mid, "c3", 6, 6, { kernel_shape: [1, 1] });
  const sum = b.add(c3, c1, "sum");
  const pool = b.passThrough("MaxPool", sum, "pool", {
    kernel_shape: [3, 3],
    strides: [2, 2],
    pads: [1, 1, 1, 1],
  });
  const c4 = b.conv(pool, "c4", 6, 5, {
    kernel_shape: [3, 3],
    strides: [2, 2],
    pads: [1, 1, 1, 1],
  });
  const gap = b.globalPool(c4, "gap");
  const flat = b.passThrough("Flatten", gap, "flat", { axis: 1 });
  const fc = b.matmul(flat, "fc", 5, 7);
  b.dequantize(fc, "y");
  return {
    name: "int8-residual",
    nodes: b.nodes,
    inputs: [{ name: "x", dtype: "f32", shape: ["N", 3, 11, 9] }],
    outputs: [{ name: "y", dtype: "f32", shape: ["N", 7] }, {
      name: "mid",
      dtype: "u8",
      shape: ["N", 6, 11, 9],
    }],
    initializers: b.initializers,
  };
}
