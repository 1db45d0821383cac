/**
 * Test cases shared by the QGemm tests: shapes, transposes, bias shapes, output kinds, and
 * their seeded operands and nodes.
 *
 * @module
 */

import { makeTensor, type Node, type Tensor } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { scalar, vector } from "./_int8_testing.ts";

/** One QGemm configuration. */
export interface QGemmCase {
  name: string;
  a: "u8" | "i8";
  m: number;
  k: number;
  n: number;
  transB: boolean;
  alpha?: number;
  /** Shape of C, or undefined for none. */
  c?: number[];
  /** Quantized output (y_scale and y_zero_point given). */
  quantized: boolean;
  perColumn: boolean;
}

/** The QGemm cases every implementation is checked on. */
export const QGEMM_CASES: QGemmCase[] = [
  {
    name: "transB, bias [N], quantized",
    a: "u8",
    m: 1,
    k: 64,
    n: 37,
    transB: true,
    c: [37],
    quantized: true,
    perColumn: true,
  },
  {
    name: "alpha 0.5, bias [M, N]",
    a: "u8",
    m: 3,
    k: 21,
    n: 10,
    transB: false,
    alpha: 0.5,
    c: [3, 10],
    quantized: true,
    perColumn: false,
  },
  {
    name: "f32 output, bias [M, 1]",
    a: "u8",
    m: 4,
    k: 33,
    n: 7,
    transB: true,
    c: [4, 1],
    quantized: false,
    perColumn: true,
  },
  {
    name: "s8, no bias",
    a: "i8",
    m: 2,
    k: 17,
    n: 9,
    transB: false,
    quantized: true,
    perColumn: false,
  },
  {
    name: "f32 output, scalar bias",
    a: "i8",
    m: 2,
    k: 8,
    n: 5,
    transB: true,
    c: [1],
    quantized: false,
    perColumn: false,
  },
];

/** Operands of a case in QGemm order (absent optional ones as undefined). */
export function qgemmOperands(c: QGemmCase, seed: number): (Tensor | undefined)[] {
  const rand = seededRandom(seed);
  const range: [number, number] = c.a === "u8" ? [0, 256] : [-128, 128];
  const perCol = (f: () => number) =>
    c.perColumn ? vector("f32", Array.from({ length: c.n }, f)) : scalar("f32", f());
  const ys = Math.fround(0.0191 * 0.004 * Math.sqrt(c.k) * 74 * 74 / 50);
  return [
    randomTensor(rand, c.a, [c.m, c.k], ...range),
    scalar("f32", 0.0191),
    scalar(c.a, c.a === "u8" ? 2 : -3),
    randomTensor(rand, "i8", c.transB ? [c.n, c.k] : [c.k, c.n], -128, 128),
    perCol(() => Math.fround(0.002 + 0.004 * rand())),
    c.perColumn ? vector("i8", new Array(c.n).fill(0)) : scalar("i8", 0),
    c.c
      ? makeTensor(
        "i32",
        c.c,
        Array.from(
          { length: c.c.reduce((x, y) => x * y, 1) },
          () => Math.floor((rand() - 0.5) * 30000),
        ),
      )
      : undefined,
    c.quantized ? scalar("f32", ys) : undefined,
    c.quantized ? scalar(c.a, c.a === "u8" ? 100 : 7) : undefined,
  ];
}

/** Operand names in QGemm order. */
export const QGEMM_NAMES = ["a", "as", "az", "b", "bs", "bz", "c", "ys", "yz"];

/** The QGemm node of a case. */
export function qgemmNode(c: QGemmCase): Node {
  const count = c.quantized ? 9 : c.c ? 7 : 6;
  const inputs = QGEMM_NAMES.slice(0, count).map((name, i) => (i === 6 && !c.c ? "" : name));
  const attrs: Node["attrs"] = { transB: c.transB ? 1 : 0 };
  if (c.alpha !== undefined) attrs.alpha = c.alpha;
  return { name: c.name, op: "QGemm", inputs, outputs: ["y"], attrs };
}
