/**
 * Test cases shared by the QLinearAdd tests: shapes (all 65536 value pairs, broadcasts),
 * scales and zero points, and their seeded operands.
 *
 * @module
 */

import { makeTensor, sizeOf, type Tensor } from "../graph/types.ts";
import { seededRandom } from "../testing/random.ts";
import { scalar } from "./_int8_testing.ts";

/** One QLinearAdd configuration; `pairs` makes A and B enumerate all 65536 value pairs. */
export interface QAddCase {
  name: string;
  dtype: "u8" | "i8";
  a: number[];
  b: number[];
  pairs?: boolean;
  /** Scales A, B, C. */
  scales: [number, number, number];
  zeroPoints: [number, number, number];
}

/** The QLinearAdd cases every implementation is checked on. */
export const QADD_CASES: QAddCase[] = [
  {
    name: "all u8 pairs",
    dtype: "u8",
    a: [256, 256],
    b: [256, 256],
    pairs: true,
    scales: [0.0731, 0.0412, 0.0625],
    zeroPoints: [121, 3, 77],
  },
  {
    name: "all i8 pairs",
    dtype: "i8",
    a: [256, 256],
    b: [256, 256],
    pairs: true,
    scales: [0.0211, 0.05, 0.031],
    zeroPoints: [-3, 40, -128],
  },
  {
    name: "ties: ratios 0.5 and 0.25",
    dtype: "u8",
    a: [256, 256],
    b: [256, 256],
    pairs: true,
    scales: [0.5, 0.25, 1],
    zeroPoints: [128, 0, 64],
  },
  {
    name: "per-channel B spans",
    dtype: "u8",
    a: [2, 3, 5, 7],
    b: [1, 3, 1, 1],
    scales: [0.02, 0.3, 0.05],
    zeroPoints: [9, 200, 128],
  },
  {
    name: "A broadcast",
    dtype: "u8",
    a: [1, 3, 1, 1],
    b: [2, 3, 5, 7],
    scales: [0.02, 0.3, 0.05],
    zeroPoints: [9, 200, 128],
  },
  {
    name: "row broadcast",
    dtype: "i8",
    a: [3, 4, 5],
    b: [5],
    scales: [0.031, 0.017, 0.029],
    zeroPoints: [1, -7, 12],
  },
  {
    name: "scalar B",
    dtype: "u8",
    a: [7, 9],
    b: [],
    scales: [0.031, 0.017, 0.029],
    zeroPoints: [1, 7, 12],
  },
  {
    name: "scalar A",
    dtype: "u8",
    a: [],
    b: [7, 9],
    scales: [0.031, 0.017, 0.029],
    zeroPoints: [1, 7, 12],
  },
];

/** Operands of a case in QLinearAdd order. */
export function qaddOperands(c: QAddCase, seed: number): Tensor[] {
  const rand = seededRandom(seed);
  const lo = c.dtype === "u8" ? 0 : -128;
  const values = (shape: number[], which: 0 | 1) =>
    makeTensor(
      c.dtype,
      shape,
      Array.from(
        { length: sizeOf(shape) },
        (_, i) => c.pairs ? lo + (which === 0 ? i >> 8 : i & 255) : lo + Math.floor(rand() * 256),
      ),
    );
  const [sa, sb, sc] = c.scales.map(Math.fround);
  const [za, zb, zc] = c.zeroPoints;
  return [
    values(c.a, 0),
    scalar("f32", sa),
    scalar(c.dtype, za),
    values(c.b, 1),
    scalar("f32", sb),
    scalar(c.dtype, zb),
    scalar("f32", sc),
    scalar(c.dtype, zc),
  ];
}

/** Operand names in QLinearAdd order. */
export const QADD_NAMES = ["a", "as", "az", "b", "bs", "bz", "cs", "cz"];
